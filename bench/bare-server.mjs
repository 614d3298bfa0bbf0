/**
 * The yardstick: the same six routes, the same contract and the same token check, with node:http, pg and
 * hand-written SQL, and nothing else. `npm run bench` runs it beside the real server.
 *
 * Environment: DATABASE_URL, PORT, BETTER_AUTH_SECRET, DATABASE_POOL_SIZE (default 10).
 */
import { createServer } from 'node:http';
import { jwtVerify } from 'jose';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_SIZE ?? 10) });
const key = await crypto.subtle.importKey(
  'raw',
  new TextEncoder().encode(process.env.BETTER_AUTH_SECRET ?? ''),
  { name: 'HMAC', hash: 'SHA-256' },
  false,
  ['verify'],
);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const COLUMNS = 'id, user_id, title, completed, created_at, updated_at';

class HttpError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

function task(row) {
  return {
    id: row.id,
    title: row.title,
    completed: row.completed,
    user_id: row.user_id,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function send(res, status, body, headers = {}) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function userOf(req) {
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(req.headers.authorization ?? '');
  if (!match) throw new HttpError(401, 'Not authenticated');
  try {
    const { payload } = await jwtVerify(match[1], key, { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] });
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new Error('no sub');
    return payload.sub;
  } catch {
    throw new HttpError(401, 'Invalid or expired token');
  }
}

async function body(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  try {
    const value = text === '' ? {} : JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value;
  } catch {
    throw new HttpError(422, 'Request body is not valid JSON');
  }
}

function title(value) {
  if (typeof value !== 'string') throw new HttpError(422, '"title" must be a string');
  const trimmed = value.trim();
  if (trimmed === '') throw new HttpError(400, 'Title must not be empty');
  if ([...trimmed].length > 500) throw new HttpError(400, 'Title must be at most 500 characters');
  return trimmed;
}

function taskId(id) {
  if (!UUID.test(id)) throw new HttpError(400, 'Task id must be a UUID');
  return id;
}

async function missingOrForeign(id) {
  const { rowCount } = await pool.query('SELECT 1 FROM tasks WHERE id = $1', [id]);
  throw rowCount ? new HttpError(403, 'You do not have access to this task') : new HttpError(404, 'Task not found');
}

const encodeCursor = (row) => Buffer.from(`${row.created_at.toISOString()}|${row.id}`).toString('base64url');

function decodeCursor(cursor) {
  const [iso, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(iso);
  if (!id || !UUID.test(id) || Number.isNaN(createdAt.getTime())) throw new HttpError(400, 'Invalid cursor');
  return [createdAt, id];
}

async function list(req, res, user, url) {
  const params = [user];
  let where = 'user_id = $1';
  const completed = url.searchParams.get('completed');
  if (completed !== null) {
    if (completed !== 'true' && completed !== 'false') throw new HttpError(400, '"completed" must be true or false');
    params.push(completed === 'true');
    where += ` AND completed = $${params.length}`;
  }
  const cursor = url.searchParams.get('cursor');
  if (cursor !== null) {
    params.push(...decodeCursor(cursor));
    where += ` AND (created_at, id) < ($${params.length - 1}, $${params.length})`;
  }
  const limitParam = url.searchParams.get('limit');
  let limit;
  if (limitParam !== null) {
    limit = Number(limitParam);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new HttpError(400, 'limit must be an integer from 1 to 100');
  }
  const { rows } = await pool.query(
    `SELECT ${COLUMNS} FROM tasks WHERE ${where} ORDER BY created_at DESC, id DESC${limit ? ` LIMIT ${limit + 1}` : ''}`,
    params,
  );
  const more = limit !== undefined && rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const headers = {};
  if (more) {
    url.searchParams.set('cursor', encodeCursor(page.at(-1)));
    headers.link = `<${url.pathname}${url.search}>; rel="next"`;
  }
  send(res, 200, page.map(task), headers);
}

async function create(req, res, user) {
  const value = title((await body(req)).title);
  const insert = () => pool.query(`INSERT INTO tasks (user_id, title) VALUES ($1, $2) RETURNING ${COLUMNS}`, [user, value]);
  let result;
  try {
    result = await insert();
  } catch (error) {
    if (error.code !== '23503') throw error;
    await pool.query('INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING', [user]);
    result = await insert();
  }
  send(res, 201, task(result.rows[0]));
}

async function one(req, res, user, id) {
  const { rows } = await pool.query(`SELECT ${COLUMNS} FROM tasks WHERE id = $1`, [taskId(id)]);
  if (rows.length === 0) throw new HttpError(404, 'Task not found');
  if (rows[0].user_id !== user) throw new HttpError(403, 'You do not have access to this task');
  send(res, 200, task(rows[0]));
}

async function update(req, res, user, id, field) {
  taskId(id);
  const input = await body(req);
  let value;
  if (field === 'completed') {
    if (typeof input.completed !== 'boolean') throw new HttpError(422, '"completed" must be a boolean');
    value = input.completed;
  } else {
    value = title(input.title);
  }
  const { rows } = await pool.query(
    `UPDATE tasks SET ${field} = $3, updated_at = now() WHERE id = $1 AND user_id = $2 RETURNING ${COLUMNS}`,
    [id, user, value],
  );
  if (rows.length === 0) await missingOrForeign(id);
  send(res, 200, task(rows[0]));
}

async function remove(req, res, user, id) {
  const { rowCount } = await pool.query('DELETE FROM tasks WHERE id = $1 AND user_id = $2', [taskId(id), user]);
  if (!rowCount) await missingOrForeign(id);
  res.writeHead(204).end();
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', 'http://bare');
    const match = /^\/api\/tasks(?:\/([^/]+))?$/.exec(url.pathname);
    if (!match) throw new HttpError(404, 'Not Found');
    const user = await userOf(req);
    const id = match[1];
    if (id === undefined && req.method === 'GET') return await list(req, res, user, url);
    if (id === undefined && req.method === 'POST') return await create(req, res, user);
    if (id !== undefined && req.method === 'GET') return await one(req, res, user, id);
    if (id !== undefined && req.method === 'PATCH') return await update(req, res, user, id, 'completed');
    if (id !== undefined && req.method === 'PUT') return await update(req, res, user, id, 'title');
    if (id !== undefined && req.method === 'DELETE') return await remove(req, res, user, id);
    throw new HttpError(405, 'Method Not Allowed');
  } catch (error) {
    if (error instanceof HttpError) send(res, error.status, { detail: error.message });
    else {
      console.error(error);
      send(res, 500, { detail: 'Internal server error' });
    }
  }
});

server.listen(Number(process.env.PORT ?? 8001), '127.0.0.1', () => console.log(`bare server listening on ${process.env.PORT}`));
process.once('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
