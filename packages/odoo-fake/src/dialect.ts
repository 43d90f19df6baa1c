import { fault, type OdooFault } from "./faults.ts";
import { PyTuple, pyRepr } from "./py-json.ts";

/**
 * Where Odoo versions differ in wording. Entries marked "recorded" are copied from the
 * transcripts; the others are the closest guess and are listed as such in the package notes.
 */
export type OdooMajor = 16 | 17 | 18 | 19;

export const SERVER_VERSIONS: Record<OdooMajor, string> = {
  16: "16.0",
  17: "17.0",
  18: "18.0",
  19: "19.0",
};

/** recorded (16, 17, 18, 19) */
export function unknownMethod(version: OdooMajor, model: string, method: string): OdooFault {
  return fault.attributeError(
    version <= 17
      ? `type object '${model}' has no attribute '${method}'`
      : `The method '${model}.${method}' does not exist`,
  );
}

/** recorded (17, 19); 16 assumed like 17, 18 like 19 (its unknown-method text already is). */
export function privateMethod(version: OdooMajor, model: string, method: string): OdooFault {
  return fault.accessError(
    version <= 17
      ? `Private methods (such as ${method}) cannot be called remotely.`
      : `Private methods (such as '${model}.${method}') cannot be called remotely.`,
  );
}

/** recorded (16–19) */
export function unknownModel(model: string): OdooFault {
  return fault.userError(`Object ${model} doesn't exist`);
}

/** recorded (19); 16–18 word it "in leaf" (not recorded). */
export function invalidDomainField(version: OdooMajor, model: string, leaf: unknown[]): OdooFault {
  const where = version >= 19 ? "condition" : "leaf";
  return fault.valueError(
    `Invalid field ${model}.${String(leaf[0])} in ${where} ${pyRepr(new PyTuple(leaf))}`,
  );
}

/** recorded (19); the `RPC.` class prefix of 16–18 is not recorded. */
export function rpcMissingArguments(version: OdooMajor, missing: string[]): OdooFault {
  const names = missing.map((name) => `'${name}'`);
  const list =
    names.length <= 2 ? names.join(" and ") : `${names.slice(0, -1).join(", ")}, and ${names.at(-1)}`;
  const plural = missing.length === 1 ? "argument" : "arguments";
  const owner = version >= 19 ? "JSONRPC.jsonrpc()" : "RPC.jsonrpc()";
  return fault.typeError(`${owner} missing ${missing.length} required positional ${plural}: ${list}`);
}

/** recorded (19) */
export function missingDatabase(db: string): OdooFault {
  return fault.operationalError(
    `connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed: ` +
      `FATAL:  database "${db}" does not exist\n`,
  );
}

/** recorded (16–19) */
export function missingRecord(model: string, id: number, uid: number): OdooFault {
  return fault.missing(
    `Record does not exist or has been deleted.\n(Record: ${model}(${id},), User: ${uid})`,
  );
}

const OPERATION_VERBS = { read: "access", create: "create", write: "modify", unlink: "delete" };

/** recorded (16–19 for read, 19 for create); write/unlink verbs from Odoo's source. */
export function aclDenied(
  operation: keyof typeof OPERATION_VERBS,
  description: string,
  model: string,
  groups: readonly string[],
): OdooFault {
  return fault.accessError(
    `You are not allowed to ${OPERATION_VERBS[operation]} '${description}' (${model}) records.\n\n` +
      "This operation is allowed for the following groups:\n" +
      groups.map((group) => `\t- ${group}\n`).join("") +
      "\nContact your administrator to request access if necessary.",
  );
}

/** recorded (17: PostgreSQL FK error as ValidationError; 19: explicit UserError). 16/18 guessed. */
export function adminUserUnlink(version: OdooMajor): OdooFault {
  if (version >= 19) {
    return fault.userError(
      "You cannot delete the admin user because it is utilized in various places (such as " +
        "security configurations,...). Instead, archive it.",
    );
  }
  return fault.validation(
    "The operation cannot be completed: another model requires the record being deleted. " +
      "If possible, archive it instead.\n\nModel: Contact (res.partner)\n" +
      "Constraint: res_partner_write_uid_fkey\n",
  );
}

/** Odoo's wording for a NOT NULL violation (service/model.py). */
export function requiredMissing(modelDescription: string, model: string, label: string, field: string) {
  return fault.validation(
    "The operation cannot be completed:\n- Create/update: a mandatory field is not set.\n" +
      "- Delete: another model requires the record being deleted. If possible, archive it " +
      `instead.\n\nModel: ${modelDescription} (${model})\nField: ${label} (${field})\n`,
  );
}

export function invalidField(model: string, field: string): OdooFault {
  return fault.valueError(`Invalid field ${pyRepr(field)} on model ${pyRepr(model)}`);
}

/** recorded (16–18: 400 "type='json'"; 19: 415 "type='jsonrpc'" plus a hint) */
export function wrongContentType(version: OdooMajor, route: string, type: string) {
  const escaped = (text: string) => text.replace(/'/g, "&#39;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const base = `Request inferred type is compatible with ['http'] but '${route}' is type='${type}'.`;
  if (version >= 19) {
    const hint = "<br><br>Please verify the Content-Type request header and try again.";
    return { status: 415, description: `${escaped(base)}${hint}` };
  }
  return { status: 400, description: escaped(base) };
}

export const NOT_FOUND_TEXT =
  "The requested URL was not found on the server. If you entered the URL manually please check " +
  "your spelling and try again.";

/** Werkzeug's default HTML error page. */
export function htmlErrorPage(status: number, reason: string, description: string): string {
  return (
    `<!doctype html>\n<html lang=en>\n<title>${status} ${reason}</title>\n` +
    `<h1>${reason}</h1>\n<p>${description}</p>\n`
  );
}
