import packageJson from "../package.json" with { type: "json" };

/** Reported in heartbeats as `cluster.operatorVersion`. */
export const AGENT_VERSION = `vwksp-agent/${packageJson.version}`;
