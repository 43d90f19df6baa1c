import { stringify } from "yaml";

const HEADER = "# Written by the vWorkspace control plane; changes made here by hand are overwritten.\n";

/**
 * YAML that depends on the value only: keys sorted at every level, no line folding (a long value
 * never wraps differently), no anchors for repeated objects, no timestamps. So an unchanged
 * desired state renders byte for byte the same and makes no commit.
 */
export function toStableYaml(value: unknown): string {
  return (
    HEADER +
    stringify(value, {
      sortMapEntries: true,
      lineWidth: 0,
      aliasDuplicateObjects: false,
      indent: 2,
    })
  );
}
