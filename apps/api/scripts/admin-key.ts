// `pnpm admin:key create --name NAME --scopes SCOPE[,SCOPE…] [--organization SLUG]`
// Creates an admin API key and prints it once; only its SHA-256 is stored.
import { parseArgs } from "node:util";
import {
  API_KEY_SCOPES,
  createApiKeysService,
  DEFAULT_ORGANIZATION_SLUG,
  ensureDefaultOrganization,
  isKnownScope,
  systemClock,
} from "@vwksp/core";
import { runScript } from "./lib/run-script.ts";

const usage = `usage: pnpm admin:key create --name NAME --scopes SCOPE[,SCOPE…] [--organization SLUG]
scopes: * (all), ${API_KEY_SCOPES.join(", ")}
platform:admin (and *) act beyond the key's organization: give them to the platform's operators only`;

runScript("admin:key", async (connect) => {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      name: { type: "string" },
      scopes: { type: "string" },
      organization: { type: "string", default: DEFAULT_ORGANIZATION_SLUG },
    },
  });
  if (positionals[0] !== "create" || !values.name || !values.scopes) {
    console.error(usage);
    return 2;
  }
  const scopes = values.scopes
    .split(",")
    .map((scope) => scope.trim())
    .filter(Boolean);
  const unknown = scopes.filter((scope) => !isKnownScope(scope));
  if (scopes.length === 0 || unknown.length > 0) {
    console.error(`unknown scope(s): ${unknown.join(", ") || "(none given)"}\n${usage}`);
    return 2;
  }
  const db = connect();
  const organization =
    values.organization === DEFAULT_ORGANIZATION_SLUG
      ? await ensureDefaultOrganization(db)
      : await db.organization.findUnique({ where: { slug: values.organization } });
  if (!organization) {
    console.error(`no organization with slug "${values.organization}" (pnpm admin:org create makes one)`);
    return 1;
  }
  const service = createApiKeysService({ db, clock: systemClock });
  const { key, record } = await service.create({
    organizationId: organization.id,
    name: values.name,
    scopes,
  });
  console.log(
    `created API key ${record.id} "${record.name}" in ${organization.slug} with scopes ${scopes.join(",")}`,
  );
  console.log("store it now, it is not shown again:");
  console.log(key);
  return 0;
});
