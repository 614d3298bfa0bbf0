import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The task page: built into web/dist, which the server serves at /. */
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true },
  server: { proxy: { '/graphql': 'http://127.0.0.1:8000' } },
});
