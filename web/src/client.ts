import { Client, cacheExchange, fetchExchange } from 'urql';

/** An urql client that sends the pasted token with every operation; subscriptions go over SSE by fetch. */
export function createClient(token: string): Client {
  return new Client({
    url: '/graphql',
    exchanges: [cacheExchange, fetchExchange],
    fetchSubscriptions: true,
    fetchOptions: { headers: { authorization: `Bearer ${token}` } },
    preferGetMethod: false,
  });
}
