import { monotonicFactory } from "ulid";

const ulid = monotonicFactory();

/** Job ids look like `j-<ULID>`: sortable by creation time, unique across processes. */
export const newJobId = (at: Date = new Date()) => `j-${ulid(at.getTime())}`;
