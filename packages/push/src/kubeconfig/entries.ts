import { X509Certificate } from "node:crypto";
import { isObject, type Json } from "./parse.ts";
import { refuse } from "./refusal.ts";
import type { PushKubeconfig } from "./types.ts";

type ClusterEntry = PushKubeconfig["clusters"][0]["cluster"];
type UserEntry = PushKubeconfig["users"][0]["user"];

const text = (value: unknown) => (typeof value === "string" ? value.trim() : "");
const present = (entry: Json, key: string) => entry[key] !== undefined && entry[key] !== null;

/** Only scheme and host: a URL may carry credentials in its user info or query. */
const origin = (url: URL) => `${url.protocol}//${url.host}`;

/** Base64 of PEM that Node can read: certificates are parsed, a key must at least be a PEM block. */
function pemData(value: unknown, what: "certificate" | "key", field: string): string {
  const encoded = text(value);
  const pem = Buffer.from(encoded, "base64").toString("utf8");
  const valid =
    what === "key"
      ? /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)
      : pem.includes("-----BEGIN CERTIFICATE-----") && parses(pem);
  if (!encoded || !valid) {
    throw refuse("InvalidCertificateData", `${field} is not base64-encoded PEM ${what} data`, field);
  }
  return encoded;
}

function parses(pem: string) {
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}

/** The cluster entry: an https server verified by inline CA data or the system's CAs. */
export function checkCluster(entry: Json, at: string): ClusterEntry {
  const field = (key: string) => `${at}.${key}`;
  if (entry["insecure-skip-tls-verify"] === true) {
    throw refuse(
      "InsecureSkipTlsVerifyRefused",
      "insecure-skip-tls-verify is refused: without verifying the API server, anyone on the path could take the token; add certificate-authority-data instead",
      field("insecure-skip-tls-verify"),
    );
  }
  if (present(entry, "certificate-authority")) {
    throw refuse(
      "FilePathRefused",
      "certificate-authority is a file path on the machine that wrote the kubeconfig; use certificate-authority-data",
      field("certificate-authority"),
    );
  }
  if (present(entry, "proxy-url")) {
    throw refuse("ProxyRefused", "proxy-url is not supported in push mode", field("proxy-url"));
  }
  const server = text(entry.server);
  if (!server) throw refuse("MissingServer", "the cluster has no server URL", field("server"));
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw refuse("InvalidServer", "the server is not a URL", field("server"));
  }
  if (url.protocol === "http:") {
    throw refuse("PlainHttpRefused", `plain HTTP is refused (${origin(url)}): use https`, field("server"));
  }
  if (url.protocol !== "https:" || url.username || url.password) {
    throw refuse(
      "InvalidServer",
      "the server must be an https URL without user name or password",
      field("server"),
    );
  }
  const tlsServerName = text(entry["tls-server-name"]);
  return {
    server,
    ...(present(entry, "certificate-authority-data")
      ? {
          "certificate-authority-data": pemData(
            entry["certificate-authority-data"],
            "certificate",
            field("certificate-authority-data"),
          ),
        }
      : {}),
    ...(tlsServerName ? { "tls-server-name": tlsServerName } : {}),
  };
}

const REFUSED_USER_FIELDS: [string, Parameters<typeof refuse>[0], string][] = [
  ["exec", "ExecPluginRefused", "exec credential plugins run a program on the control plane's host"],
  ["auth-provider", "AuthProviderRefused", "auth-provider plugins run or refresh credentials on our host"],
  ["tokenFile", "FilePathRefused", "tokenFile is a file path; put the token inline (token)"],
  ["client-certificate", "FilePathRefused", "client-certificate is a file path; use client-certificate-data"],
  ["client-key", "FilePathRefused", "client-key is a file path; use client-key-data"],
  ["username", "BasicAuthRefused", "basic authentication (username/password) is not supported"],
  ["password", "BasicAuthRefused", "basic authentication (username/password) is not supported"],
  ["as", "ImpersonationRefused", "impersonation (as) is not supported in push mode"],
  ["as-groups", "ImpersonationRefused", "impersonation (as-groups) is not supported in push mode"],
  ["as-uid", "ImpersonationRefused", "impersonation (as-uid) is not supported in push mode"],
  ["as-user-extra", "ImpersonationRefused", "impersonation (as-user-extra) is not supported in push mode"],
];

/** The user entry: an inline bearer token and/or an inline client certificate with its key. */
export function checkUser(entry: Json, at: string): UserEntry {
  for (const [key, reason, message] of REFUSED_USER_FIELDS) {
    if (present(entry, key)) throw refuse(reason, message, `${at}.${key}`);
  }
  const token = text(entry.token);
  if (present(entry, "token") && (!token || /\s/.test(token))) {
    throw refuse("MissingCredentials", "the token is empty or contains whitespace", `${at}.token`);
  }
  const hasCert = present(entry, "client-certificate-data");
  const hasKey = present(entry, "client-key-data");
  if (hasCert !== hasKey) {
    throw refuse(
      "MissingCredentials",
      "client-certificate-data and client-key-data go together",
      `${at}.${hasCert ? "client-key-data" : "client-certificate-data"}`,
    );
  }
  if (!token && !hasCert) {
    throw refuse("MissingCredentials", "the user has neither a token nor a client certificate", at);
  }
  return {
    ...(token ? { token } : {}),
    ...(hasCert
      ? {
          "client-certificate-data": pemData(
            entry["client-certificate-data"],
            "certificate",
            `${at}.client-certificate-data`,
          ),
          "client-key-data": pemData(entry["client-key-data"], "key", `${at}.client-key-data`),
        }
      : {}),
  };
}

/** `{ name, <key>: {...} }` entries of a kubeconfig list, with their index for messages. */
export function namedEntries(document: Json, list: string, key: string) {
  const items = Array.isArray(document[list]) ? (document[list] as unknown[]) : [];
  return items.flatMap((item, index) =>
    isObject(item) && typeof item.name === "string" && isObject(item[key])
      ? [{ name: item.name, entry: item[key] as Json, at: `${list}[${index}].${key}` }]
      : [],
  );
}
