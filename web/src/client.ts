import { Client, cacheExchange, fetchExchange } from 'urql';

/** An urql client that sends the pasted token with every operation. */
export function createClient(token: string): Client {
  return new Client({
    url: '/graphql',
    exchanges: [cacheExchange, fetchExchange],
    fetchOptions: { headers: { authorization: `Bearer ${token}` } },
    preferGetMethod: false,
  });
}
