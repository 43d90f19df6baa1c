import selfsigned from "selfsigned";

export interface TestCertificates {
  /** PEM of the test CA that signed the server certificate: what a kubeconfig trusts. */
  caCert: string;
  cert: string;
  key: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A fresh CA and a serving certificate it signs for 127.0.0.1 and localhost, as a cluster's CA
 * signs the API server's. ECDSA P-256 through WebCrypto: both take milliseconds, not RSA seconds.
 */
export async function generateTestCertificates(now: Date): Promise<TestCertificates> {
  const validity = {
    notBeforeDate: new Date(now.getTime() - DAY_MS),
    notAfterDate: new Date(now.getTime() + 30 * DAY_MS),
  };
  const ca = await selfsigned.generate([{ name: "commonName", value: "kube-fake-ca" }], {
    keyType: "ec",
    algorithm: "sha256",
    ...validity,
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const server = await selfsigned.generate([{ name: "commonName", value: "kube-apiserver" }], {
    keyType: "ec",
    algorithm: "sha256",
    ...validity,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 7, ip: "127.0.0.1" },
          { type: 2, value: "localhost" },
          { type: 2, value: "kubernetes.default.svc" },
        ],
      },
    ],
  });
  return { caCert: ca.cert, cert: server.cert, key: server.private };
}
