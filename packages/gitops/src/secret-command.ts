import { OPERATOR_NAMESPACE, REGISTRATION_TOKEN_KEY } from "./render/resources.ts";

const shellQuote = (value: string) =>
  /^[A-Za-z0-9._\-=/:@]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;

/**
 * The command an admin runs once to put the registration token where the Cluster CR in Git points
 * (`spec.registrationTokenSecretRef`): the token never goes into the repository. Rendered as
 * create-then-apply, so running it again with a re-issued token replaces the old one (the operator
 * registers again when the token's fingerprint changes).
 */
export function renderRegistrationSecretCommand(options: {
  secretName: string;
  token: string;
  namespace?: string;
}): string {
  const namespace = options.namespace ?? OPERATOR_NAMESPACE;
  return [
    "kubectl create secret generic",
    shellQuote(options.secretName),
    `--namespace=${shellQuote(namespace)}`,
    `--from-literal=${shellQuote(`${REGISTRATION_TOKEN_KEY}=${options.token}`)}`,
    "--dry-run=client -o yaml | kubectl apply -f -",
  ].join(" ");
}
