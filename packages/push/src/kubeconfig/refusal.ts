/**
 * Why an uploaded kubeconfig cannot be used for push mode. Each reason is a stable code an API
 * route can put in its 400 envelope; the messages name fields and contexts, never a credential.
 */
export type KubeconfigRefusalReason =
  /** Not YAML or JSON, not a kubeconfig object, or too large. */
  | "InvalidFormat"
  /** No context at all. */
  | "NoContext"
  /** Several contexts and no `current-context` to choose one. */
  | "AmbiguousContext"
  /** `current-context`, or a context's cluster or user, names something that is not there. */
  | "ContextNotFound"
  /** The cluster has no `server`. */
  | "MissingServer"
  /** `server` is not an https URL (or carries a user name or password). */
  | "InvalidServer"
  /** `server` is plain `http://`: the token would cross the network in clear. */
  | "PlainHttpRefused"
  /** `insecure-skip-tls-verify`: anyone on the path could pose as the API server and take the token. */
  | "InsecureSkipTlsVerifyRefused"
  /** A file path (`certificate-authority`, `client-certificate`, `client-key`, `tokenFile`) instead of inline data. */
  | "FilePathRefused"
  /** An `exec` credential plugin: it would run a program on the control plane's host. */
  | "ExecPluginRefused"
  /** An `auth-provider` plugin (oidc, gcp, azure): it runs or refreshes credentials on our host. */
  | "AuthProviderRefused"
  /** `username`/`password` basic authentication (removed from Kubernetes in 1.19). */
  | "BasicAuthRefused"
  /** `as`, `as-groups`, `as-uid`, `as-user-extra`: impersonation is not a push credential. */
  | "ImpersonationRefused"
  /** `proxy-url`: the control plane's egress is its own configuration, not the uploaded file's. */
  | "ProxyRefused"
  /** Neither a token nor a client certificate and key. */
  | "MissingCredentials"
  /** `certificate-authority-data`, `client-certificate-data` or `client-key-data` is not base64 PEM. */
  | "InvalidCertificateData";

/** A kubeconfig refused at intake: answer 400 with `reason` as the error code and `message`. */
export class KubeconfigRefusedError extends Error {
  override readonly name = "KubeconfigRefusedError";
  readonly statusCode = 400;
  constructor(
    readonly reason: KubeconfigRefusalReason,
    message: string,
    /** The kubeconfig field at fault, e.g. `users[0].user.exec`. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export const refuse = (reason: KubeconfigRefusalReason, message: string, field?: string) =>
  new KubeconfigRefusedError(reason, message, field);
