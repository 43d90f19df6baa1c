// `pnpm admin:org create --slug SLUG --name NAME` / `pnpm admin:org list`
// Organizations (tenants), for the platform's operators; GET/POST /api/v1/organizations does the
// same with a platform:admin key. Give the new organization its keys with `pnpm admin:key`.
import { parseArgs } from "node:util";
import {
  createAuditService,
  createOrganizationsService,
  type Db,
  DomainError,
  systemClock,
} from "@vwksp/core";
import { CreateOrganizationBody } from "@vwksp/protocol";
import { runScript } from "./lib/run-script.ts";

const usage = `usage: pnpm admin:org create --slug SLUG --name NAME
       pnpm admin:org list`;

const organizationsOf = (db: Db) =>
  createOrganizationsService({
    db,
    clock: systemClock,
    audit: createAuditService({ db, clock: systemClock }),
  });

runScript("admin:org", async (connect) => {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { slug: { type: "string" }, name: { type: "string" } },
  });
  const [command, ...rest] = positionals;
  if (command === "list" && rest.length === 0) {
    for (const organization of await organizationsOf(connect()).list()) {
      console.log(`${organization.slug}\t${organization.id}\t${organization.name}`);
    }
    return 0;
  }
  if (command !== "create" || rest.length > 0) {
    console.error(usage);
    return 2;
  }
  const body = CreateOrganizationBody.safeParse({ slug: values.slug, name: values.name });
  if (!body.success) {
    for (const issue of body.error.issues) console.error(`--${issue.path.join(".")}: ${issue.message}`);
    console.error(usage);
    return 2;
  }
  try {
    const organization = await organizationsOf(connect()).create({ id: "admin:org" }, body.data);
    console.log(`created organization ${organization.slug} (${organization.id}) "${organization.name}"`);
    console.log(
      `give it keys: pnpm admin:key create --organization ${organization.slug} --name NAME --scopes SCOPES`,
    );
    return 0;
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    console.error(`admin:org: ${error.message}`);
    return 1;
  }
});
