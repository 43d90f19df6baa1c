import { type KubeFake, startKubeFake } from "@vwksp/kube-fake";
import { generateTestCertificates } from "@vwksp/kube-fake/tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { intakeKubeconfig } from "../src/kubeconfig/intake.ts";
import { type KubeconfigRefusalReason, KubeconfigRefusedError } from "../src/kubeconfig/refusal.ts";

const TOKEN = "sa-token-3f9c1e0b7d2a4c6e8f1a3b5c7d9e0f21";
let kube: KubeFake;
let clientCert: { cert: string; key: string };

beforeAll(async () => {
  kube = await startKubeFake();
  const certificates = await generateTestCertificates(new Date());
  clientCert = { cert: certificates.cert, key: certificates.key };
});
afterAll(() => kube?.close());

const b64 = (text: string) => Buffer.from(text).toString("base64");

type Entry = { name: string } & Record<string, unknown>;
/** A kubeconfig as loosely typed as pasted text: each case changes what it needs. */
type Pasted = Record<string, unknown> & { clusters: Entry[]; users: Entry[]; contexts: Entry[] };

/** A kubeconfig as an administrator pastes it, with changes per case. */
function pasted(change: (config: Pasted) => void = () => {}): Pasted {
  const config = structuredClone(kube.kubeconfig({ token: TOKEN })) as unknown as Pasted;
  change(config);
  return config;
}
const cluster = (config: Pasted) => config.clusters[0]?.cluster as Record<string, unknown>;
const user = (config: Pasted) => config.users[0]?.user as Record<string, unknown>;
const context = (config: Pasted) => config.contexts[0]?.context as Record<string, unknown>;

function refusalOf(input: string | Record<string, unknown>): KubeconfigRefusedError {
  try {
    intakeKubeconfig(input);
  } catch (error) {
    if (error instanceof KubeconfigRefusedError) return error;
    throw error;
  }
  throw new Error("expected the kubeconfig to be refused");
}

/** The refusal's reason and field; its message and every property must hold no secret. */
function refused(input: string | Record<string, unknown>) {
  const error = refusalOf(input);
  const exposed = `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`;
  for (const secret of [TOKEN, clientCert.key, b64(clientCert.key), "hunter2"])
    expect(exposed).not.toContain(secret);
  expect(error.statusCode).toBe(400);
  return { reason: error.reason, field: error.field, message: error.message };
}

describe("kubeconfig intake", () => {
  it("keeps one cluster, one user and one context from a pasted YAML kubeconfig", () => {
    const yaml = stringify(
      pasted((config) => {
        config.contexts.push({ name: "other", context: { cluster: "kube-fake", user: "kube-fake" } });
        config.preferences = { colors: true };
        (config.clusters[0]?.cluster as Record<string, unknown>).extensions = [];
      }),
    );
    const intake = intakeKubeconfig(yaml);
    expect(intake.kubeconfig).toEqual({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: "kube-fake", cluster: { server: kube.url, "certificate-authority-data": b64(kube.caCert) } },
      ],
      users: [{ name: "kube-fake", user: { token: TOKEN } }],
      contexts: [{ name: "kube-fake", context: { cluster: "kube-fake", user: "kube-fake" } }],
      "current-context": "kube-fake",
    });
    expect(intake.summary).toEqual({
      server: kube.url,
      context: "kube-fake",
      cluster: "kube-fake",
      user: "kube-fake",
      authentication: "token",
      certificateAuthority: "inline",
    });
    expect(JSON.stringify(intake.summary)).not.toContain(TOKEN);
    expect(intake.warnings).toEqual([]);
  });

  it("reads JSON text and an already parsed object the same way", () => {
    const config = pasted();
    expect(intakeKubeconfig(JSON.stringify(config))).toEqual(intakeKubeconfig(stringify(config)));
    expect(intakeKubeconfig(config)).toEqual(intakeKubeconfig(stringify(config)));
  });

  it("takes the only context when there is no current-context, and client certificates with their key", () => {
    const intake = intakeKubeconfig(
      pasted((config) => {
        delete config["current-context"];
        config.users[0] = {
          name: "kube-fake",
          user: { "client-certificate-data": b64(clientCert.cert), "client-key-data": b64(clientCert.key) },
        };
        context(config).namespace = "org-a";
        cluster(config)["tls-server-name"] = "kubernetes.default.svc";
      }),
    );
    expect(intake.summary).toMatchObject({
      authentication: "client-certificate",
      namespace: "org-a",
      tlsServerName: "kubernetes.default.svc",
    });
    expect(intake.kubeconfig.users[0].user).toEqual({
      "client-certificate-data": b64(clientCert.cert),
      "client-key-data": b64(clientCert.key),
    });
  });

  it("accepts a server whose certificate the system's CAs must trust, with a warning", () => {
    const intake = intakeKubeconfig(
      pasted((config) => {
        delete cluster(config)["certificate-authority-data"];
      }),
    );
    expect(intake.summary.certificateAuthority).toBe("system");
    expect(intake.warnings).toEqual([expect.stringContaining("no certificate-authority-data")]);
  });

  it.each<[string, (config: Pasted) => void, KubeconfigRefusalReason, string | undefined]>([
    [
      "several contexts without a current one",
      (config) => {
        delete config["current-context"];
        config.contexts.push({ name: "other", context: { cluster: "kube-fake", user: "kube-fake" } });
      },
      "AmbiguousContext",
      "current-context",
    ],
    [
      "no context",
      (config) => {
        config.contexts = [];
        delete config["current-context"];
      },
      "NoContext",
      "contexts",
    ],
    [
      "a current-context that is not there",
      (config) => {
        config["current-context"] = "prod";
      },
      "ContextNotFound",
      "current-context",
    ],
    [
      "a context naming a missing user",
      (config) => {
        context(config).user = "ghost";
      },
      "ContextNotFound",
      "contexts[0].context.user",
    ],
    [
      "an exec plugin",
      (config) => {
        user(config).exec = { command: "aws", args: ["eks", "get-token"] };
      },
      "ExecPluginRefused",
      "users[0].user.exec",
    ],
    [
      "an auth-provider",
      (config) => {
        user(config)["auth-provider"] = { name: "oidc" };
      },
      "AuthProviderRefused",
      "users[0].user.auth-provider",
    ],
    [
      "a plain-HTTP server",
      (config) => {
        cluster(config).server = "http://10.0.0.1:8080";
      },
      "PlainHttpRefused",
      "clusters[0].cluster.server",
    ],
    [
      "a server that is not https",
      (config) => {
        cluster(config).server = "ftp://10.0.0.1";
      },
      "InvalidServer",
      "clusters[0].cluster.server",
    ],
    [
      "a server with a password",
      (config) => {
        cluster(config).server = "https://admin:hunter2@10.0.0.1";
      },
      "InvalidServer",
      "clusters[0].cluster.server",
    ],
    [
      "no server",
      (config) => {
        delete cluster(config).server;
      },
      "MissingServer",
      "clusters[0].cluster.server",
    ],
    [
      "a certificate-authority file",
      (config) => {
        cluster(config)["certificate-authority"] = "/etc/kubernetes/pki/ca.crt";
      },
      "FilePathRefused",
      "clusters[0].cluster.certificate-authority",
    ],
    [
      "a client-certificate file",
      (config) => {
        user(config)["client-certificate"] = "/home/me/.kube/me.crt";
      },
      "FilePathRefused",
      "users[0].user.client-certificate",
    ],
    [
      "a client-key file",
      (config) => {
        user(config)["client-key"] = "/home/me/.kube/me.key";
      },
      "FilePathRefused",
      "users[0].user.client-key",
    ],
    [
      "a tokenFile",
      (config) => {
        user(config).tokenFile = "/var/run/secrets/token";
      },
      "FilePathRefused",
      "users[0].user.tokenFile",
    ],
    [
      "insecure-skip-tls-verify",
      (config) => {
        cluster(config)["insecure-skip-tls-verify"] = true;
      },
      "InsecureSkipTlsVerifyRefused",
      "clusters[0].cluster.insecure-skip-tls-verify",
    ],
    [
      "a proxy-url",
      (config) => {
        cluster(config)["proxy-url"] = "socks5://10.0.0.9:1080";
      },
      "ProxyRefused",
      "clusters[0].cluster.proxy-url",
    ],
    [
      "basic authentication",
      (config) => Object.assign(user(config), { username: "admin", password: "hunter2" }),
      "BasicAuthRefused",
      "users[0].user.username",
    ],
    [
      "impersonation",
      (config) => {
        user(config).as = "system:admin";
      },
      "ImpersonationRefused",
      "users[0].user.as",
    ],
    [
      "no credentials",
      (config) => {
        delete user(config).token;
      },
      "MissingCredentials",
      "users[0].user",
    ],
    [
      "a certificate without its key",
      (config) => {
        user(config)["client-certificate-data"] = b64(clientCert.cert);
      },
      "MissingCredentials",
      "users[0].user.client-key-data",
    ],
    [
      "CA data that is not a certificate",
      (config) => {
        cluster(config)["certificate-authority-data"] = b64("not a certificate");
      },
      "InvalidCertificateData",
      "clusters[0].cluster.certificate-authority-data",
    ],
    [
      "a key that is not PEM",
      (config) =>
        Object.assign(user(config), {
          "client-certificate-data": b64(clientCert.cert),
          "client-key-data": b64(TOKEN),
        }),
      "InvalidCertificateData",
      "users[0].user.client-key-data",
    ],
  ])("refuses %s", (_case, change, reason, field) => {
    expect(refused(stringify(pasted(change)))).toMatchObject({ reason, field });
  });

  it("refuses what is not a kubeconfig without quoting it", () => {
    // YAML parsers quote the faulty line, V8 quotes the JSON: the token is on that line here.
    const broken = `apiVersion: v1\nusers:\n- name: a\n  user: {token: ${TOKEN}\n`;
    expect(refused(broken)).toMatchObject({ reason: "InvalidFormat" });
    expect(refused(`{"users": [{"user": {"token": "${TOKEN}"}}]`)).toMatchObject({ reason: "InvalidFormat" });
    expect(refused(`{"users": [{"user": {"token": "${TOKEN}",,}}]}`)).toMatchObject({
      reason: "InvalidFormat",
    });
    expect(refused("- just\n- a list\n")).toMatchObject({ reason: "InvalidFormat" });
    expect(refused(stringify({ ...pasted(), kind: "Pod" }))).toMatchObject({
      reason: "InvalidFormat",
      field: "kind",
    });
    expect(refused(`# ${"x".repeat(300 * 1024)}`).message).toBe("the kubeconfig is larger than 256 KiB");
  });

  it("keeps every refusal message free of the token", () => {
    const withTokenInCommand = pasted((config) => {
      user(config).exec = { command: TOKEN };
    });
    const message = refused(stringify(withTokenInCommand)).message;
    expect(message).toBe("exec credential plugins run a program on the control plane's host");
  });
});
