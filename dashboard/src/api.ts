/**
 * The HTTP API client (../shared/design/API.md): JSON in and out, the contract's error shape turned into
 * an ApiError, writes signed with the current token. Every call takes the view's AbortSignal, so a view
 * that is left cancels what it still waits for.
 */
import type { DashboardConfig } from './config.js';

export interface ErrorDetail {
  readonly field: string;
  readonly message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message);
  }
}

/** Where the write token lives: this tab only, gone when it closes. */
const TOKEN_KEY = 'iot-cloud.token';

export const auth = {
  token: (): string | undefined => sessionStorage.getItem(TOKEN_KEY) ?? undefined,
  setToken: (token: string | undefined) =>
    token ? sessionStorage.setItem(TOKEN_KEY, token) : sessionStorage.removeItem(TOKEN_KEY),
};

/** Called when a write is refused for want of a token (the shell asks for one). */
let onUnauthorized: () => void = () => {};
export const setUnauthorizedHandler = (handler: () => void) => {
  onUnauthorized = handler;
};

type Query = Record<string, string | number | undefined>;

export class Api {
  constructor(private readonly config: DashboardConfig) {}

  url(path: string, query: Query = {}): string {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query))
      if (value !== undefined && value !== '') search.set(name, String(value));
    const text = search.toString();
    return `${this.config.apiBase}${path}${text ? `?${text}` : ''}`;
  }

  get<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', this.url(path, query), undefined, signal);
  }

  post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    return this.request<T>('POST', this.url(path), body, signal);
  }

  patch<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    return this.request<T>('PATCH', this.url(path), body, signal);
  }

  put<T>(
    path: string,
    body: unknown,
    signal?: AbortSignal,
    headers: Record<string, string> = {},
  ): Promise<T> {
    return this.request<T>('PUT', this.url(path), body, signal, headers);
  }

  delete(path: string, signal?: AbortSignal): Promise<unknown> {
    return this.request('DELETE', this.url(path), undefined, signal);
  }

  private async request<T>(
    method: string,
    url: string,
    body: unknown,
    signal: AbortSignal | undefined,
    extraHeaders: Record<string, string> = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...extraHeaders };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const token = auth.token();
    if (token && method !== 'GET') headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiError(0, 'NETWORK_ERROR', 'the API could not be reached');
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const error = (
        parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined
      )?.error;
      const details = Array.isArray(error?.details)
        ? error.details.map((d: { field?: unknown; message?: unknown }) => ({
            field: typeof d?.field === 'string' ? d.field : '',
            message: typeof d?.message === 'string' ? d.message : String(d),
          }))
        : [];
      if (response.status === 401 && method !== 'GET') onUnauthorized();
      throw new ApiError(
        response.status,
        typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`,
        typeof error?.message === 'string' ? error.message : `${method} failed with HTTP ${response.status}`,
        details,
      );
    }
    return parsed as T;
  }
}

export const isAbort = (error: unknown): boolean =>
  error instanceof DOMException && error.name === 'AbortError';
