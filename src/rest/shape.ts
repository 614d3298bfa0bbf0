/**
 * Response shaping for REST: GraphQL's camelCase fields become the snake_case keys the frontend reads
 * (`userId` → `user_id`), applied to the data before it is serialised once.
 */
const snakeCache = new Map<string, string>();

export function snakeCase(key: string): string {
  let snake = snakeCache.get(key);
  if (snake === undefined) {
    snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    snakeCache.set(key, snake);
  }
  return snake;
}

export function toSnakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toSnakeCaseKeys);
  if (value === null || typeof value !== 'object') return value;
  // GraphQL result objects are null-prototype; anything else (a Date) is a leaf.
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== null && proto !== Object.prototype) return value;
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key in record) out[snakeCase(key)] = toSnakeCaseKeys(record[key]);
  return out;
}
