// The console's only way to the server: the public API, typed by the
// contract (src/api/openapi.json, turned into 'piivault-openapi' by
// web/build.mjs). A path, parameter, body or response member that is not
// in the contract does not compile.
//
// The API key lives in sessionStorage only (gone with the tab), and travels
// in the Authorization header, never in a URL.
import type { components, paths } from 'piivault-openapi';

export type Schemas = components['schemas'];
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;
// The methods the contract documents on a path (the generated types give
// every other method the type `never`).
type Documented<P extends keyof paths> = {
  [M in Method]: [NonNullable<paths[P][M]>] extends [never] ? never : M;
}[Method];
type JsonOf<R> = R extends { content: { 'application/json': infer J } } ? J : undefined;
type Success<O> = O extends { responses: infer R }
  ? 200 extends keyof R
    ? JsonOf<R[200]>
    : 201 extends keyof R
      ? JsonOf<R[201]>
      : 202 extends keyof R
        ? JsonOf<R[202]>
        : undefined
  : never;
type ParamsOf<O, Where extends 'path' | 'query'> = O extends { parameters: { [K in Where]?: infer X } }
  ? X
  : never;
type BodyOf<O> = O extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

export type Options<O> = {
  path?: ParamsOf<O, 'path'>;
  query?: ParamsOf<O, 'query'>;
  body?: BodyOf<O>;
  purpose?: string; // X-Purpose, for data-plane calls
};

// A refusal or failure, as the API's error object says (code, never PII).
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const keySlot = 'piivault.api_key';
export const session = {
  key: (): string | null => sessionStorage.getItem(keySlot),
  signIn: (key: string): void => sessionStorage.setItem(keySlot, key),
  signOut: (): void => sessionStorage.clear(),
};

// The URL of a call: path parameters percent-encoded into the template.
export function urlOf(template: string, path?: object, query?: object): string {
  let url = template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const v = (path as Record<string, unknown> | undefined)?.[name];
    if (v === undefined) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(String(v));
  });
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {}))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const qs = q.toString();
  if (qs) url += `?${qs}`;
  return url;
}

async function send(method: string, url: string, purpose?: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  const key = session.key();
  if (key) headers['Authorization'] = `Bearer ${key}`;
  if (purpose) headers['X-Purpose'] = purpose;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, {
    method: method.toUpperCase(),
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
  });
  if (!res.ok) {
    let code = 'http_error';
    let message = `HTTP ${res.status}`;
    try {
      const e = (await res.json()) as { error?: { code?: string; message?: string } };
      code = e.error?.code ?? code;
      message = e.error?.message ?? message;
    } catch {
      // not JSON: keep the status
    }
    throw new ApiError(res.status, code, message);
  }
  return res;
}

// One call of the API; resolves to the success body the contract declares.
export async function call<P extends keyof paths, M extends Documented<P>>(
  method: M,
  path: P,
  options: Options<Operation<P, M>> = {},
): Promise<Success<Operation<P, M>>> {
  const res = await send(method, urlOf(path, options.path, options.query), options.purpose, options.body);
  if (res.status === 204) return undefined as Success<Operation<P, M>>;
  return (await res.json()) as Success<Operation<P, M>>;
}

// The same call for a body that is not JSON (a printable report, a
// portable export), as a Blob.
export async function fetchBlob<P extends { [Q in keyof paths]: 'get' extends Documented<Q> ? Q : never }[keyof paths]>(
  path: P,
  options: Options<Operation<P, 'get'>> = {},
): Promise<Blob> {
  const res = await send('get', urlOf(path, options.path, options.query), options.purpose);
  return res.blob();
}
