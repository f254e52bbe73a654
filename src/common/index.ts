/** The public face of common/: what other modules import (eslint.config.mjs, "Module boundaries"). */
export { AttemptWatch } from './attempt-watch';
export type { AttemptWatchErrors } from './attempt-watch';
export {
  ADMIN_TOKEN_METADATA,
  CurrentProject,
  PERMISSION_METADATA,
  PERMISSION_NAMES,
  PROJECT_LIMIT_METADATA,
  RequiresAdminToken,
  RequiresKey,
  SECURITY_SCHEMES,
  sameSecret,
} from './auth';
export type { AuthenticatedRequest } from './auth';
export { BaseUrl } from './base-url';
export { JobDrain, JobReleasedError, LatestRuns, giveJobBack, isJobLost } from './bull-jobs';
export { HttpDrain, stopGracefullyOnSignals } from './graceful-shutdown';
export { COLLECTION_PARAM, CollectionParam, collectionNameProblem } from './collection-param';
export { ConnectErrorFilter } from './connect-error.filter';
export { DEPENDENCY_RETRY_AFTER_SECONDS, isDependencyUnavailable, withTimeout } from './dependency-errors';
export { errorExamples } from './dto/error-examples';
export { ErrorMessageDto, ValidationErrorDto } from './dto/error-response.dto';
export {
  BadRequestError,
  ConflictError,
  ConnectError,
  ErrorCode,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  ServiceUnavailableError,
  TooManyRequestsError,
  TooManyResultsError,
  UnauthorizedError,
  ValidationError,
} from './errors';
export type { FieldError } from './errors';
export { EtagInterceptor } from './etag.interceptor';
export { ISO_INSTANT_DESCRIPTION, MAX_INSTANT_MS, MIN_INSTANT_MS, parseIsoInstant } from './iso-instant';
export { registerJobQueue } from './job-queue';
export {
  JsonBody,
  JsonBodyInterceptor,
  MAX_BATCH_BODY,
  MAX_BODY_DEPTH,
  MAX_EVENT_BODY,
  MAX_OTHER_BODY,
  closeUnreadBodies,
  nestsDeeperThan,
} from './json-body';
export {
  ExactNumber,
  doubleReproduces,
  doublesWhereExact,
  exactNumberProblem,
  isExactNumber,
  isJsonNumber,
  numericToJson,
  parseJsonText,
  stringifyJson,
} from './json-text';
export { decodeKeysetCursor, encodeKeysetCursor } from './keyset-cursor';
export type { KeysetPosition } from './keyset-cursor';
export { RateLimitService } from './rate-limit';
export type { ProjectLimit } from './rate-limit';
export {
  REQUEST_ID_HEADER,
  requestIdOf,
  requestIds,
  requestLogFields,
  routePatternOf,
  setRequestProject,
  withRequestId,
} from './request-context';
export { jobRetryDelayMs, retryDelayMs } from './retry-delay';
export { takeProjectTurn, WAIT_TURN_DELAY_MS, WaitTurnError } from './project-turns';
export type { TurnTable } from './project-turns';
export { SecretBox } from './secret-box';
export { SECRETS_CANARY, SECRETS_CANARY_SETTING, SecretsKeyCheck, canaryMatches } from './secrets-key.check';
export { SqlParams } from './sql-params';
export { QUERY_ANSWER_MARGIN_MS, isQueryCanceled } from './statement-timeout';
export { hasControlCharacter, isStorableText } from './storable-text';
export { RawJson, connectValidationPipe } from './validation.pipe';
export { IsCleanText } from './validators';
