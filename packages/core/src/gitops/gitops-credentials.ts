import type { Db } from "../db.ts";
import type { Sealer } from "../secrets/sealer.ts";
import { gitCredentialContext } from "./gitops-engine.ts";

/**
 * Seals again under SECRET_KEY the Git credentials still sealed under a previous key
 * (SECRET_KEY_PREVIOUS), so the previous key can be dropped: the worker runs it at start, as it
 * does for signing keys. A credential this process cannot open is left as it is (and reported
 * by the job that needs it). Returns how many were resealed.
 */
export async function resealGitCredentials(db: Db, sealer: Sealer): Promise<number> {
  const rows = await db.gitOpsBinding.findMany({ select: { clusterId: true, sealedCredential: true } });
  let resealed = 0;
  for (const row of rows) {
    if (!sealer.needsSealing(row.sealedCredential)) continue;
    const sealed = sealer.reseal(row.sealedCredential, gitCredentialContext(row.clusterId));
    // Only if nobody saved a new credential meanwhile.
    const updated = await db.gitOpsBinding.updateMany({
      where: { clusterId: row.clusterId, sealedCredential: row.sealedCredential },
      data: { sealedCredential: sealed },
    });
    resealed += updated.count;
  }
  return resealed;
}
