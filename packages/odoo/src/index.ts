export { classifyOdooError, type OdooErrorKind } from "./classify.ts";
export {
  createOdooClient,
  type DetectedServer,
  JSON2_MIN_MAJOR,
  type OdooCallEvent,
  type OdooClient,
  type OdooClientOptions,
  type OdooProtocol,
  OdooProtocolSetting,
} from "./client.ts";
export type {
  FieldsGetOptions,
  OdooContext,
  OdooDomain,
  OdooValues,
  ReadOptions,
  SearchCountOptions,
  SearchOptions,
  SearchReadOptions,
} from "./crud.ts";
export { isOdooError, OdooError, type OdooErrorInit, type OdooTransport, scrubSecrets } from "./errors.ts";
export type { FetchLike } from "./http.ts";
export { FieldDescription, majorVersion, OdooRecord, OdooVersion } from "./schemas.ts";
export {
  falseToNull,
  formatOdooDate,
  formatOdooDatetime,
  type Many2one,
  Many2oneSchema,
  type Many2oneValue,
  many2oneId,
  OdooDatetimeField,
  OdooDatetimeString,
  OdooId,
  OdooTextField,
  odooDatetimeOrNull,
  parseMany2one,
  parseOdooDate,
  parseOdooDatetime,
  x2manyIds,
} from "./values.ts";
