// API errors in OpenAI's shape ({"error": {"message", "type", "param", "code"}}) with their HTTP
// status, and the mapping of everything a handler can throw to one: our ApiError, fastify's own
// request errors (malformed JSON, wrong content type, oversize body), a library ChameleonError (the
// client's fault: 400) and anything else (500, message kept generic). No routes or logging here.

import { ChameleonError } from '../util/errors.js';
import { GenerateOptionError } from '../generate/options.js';

export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'rate_limit_error' | 'server_error' | 'service_unavailable';

export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

/** An error the API answers with a status and OpenAI's error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: ApiErrorType = 'invalid_request_error',
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Extra response headers (Retry-After for 429 and 503). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400 invalid_request_error naming the offending field. */
export function badRequest(message: string, param: string | null = null, code: string | null = 'invalid_value'): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, code);
}

/** Fastify request errors by code: [status, our code]. */
const FASTIFY_CODES: Record<string, [number, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid_json'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'invalid_json'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'body_too_large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid_content_length'],
  FST_ERR_CTP_EMPTY_TYPE: [415, 'unsupported_media_type'],
  FST_ERR_CTP_INVALID_TYPE: [415, 'unsupported_media_type'],
};

interface ErrorLike {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  name?: unknown;
}

/**
 * The API error for anything a request raised. `param` prefixes the path of a GenerateOptionError
 * (e.g. 'options' for the native endpoint, whose body holds the library's options).
 */
export function toApiError(err: unknown, optionParam?: (path: string) => string): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof GenerateOptionError) return badRequest(err.message, optionParam ? optionParam(err.path) : err.path);
  if (err instanceof ChameleonError) return badRequest(err.message, null, null);
  const e = (err ?? {}) as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : '';
  const msg = typeof e.message === 'string' ? e.message : String(err);
  const known = FASTIFY_CODES[code];
  if (known) {
    const what = known[1] === 'invalid_json' ? `the body is not valid JSON (${msg})` : known[1] === 'unsupported_media_type' ? `${msg}; send Content-Type: application/json` : msg;
    return new ApiError(known[0], what, 'invalid_request_error', null, known[1]);
  }
  if (e.name === 'SyntaxError' && e.statusCode === 400) return new ApiError(400, `the body is not valid JSON (${msg})`, 'invalid_request_error', null, 'invalid_json');
  const status = typeof e.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) return new ApiError(status, msg, 'invalid_request_error', null, code || null);
  return new ApiError(500, 'the server hit an internal error (see its log)', 'server_error', null, 'internal_error');
}
