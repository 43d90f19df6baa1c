// @prisma/client declares `prisma` (the CLI) and `typescript` as optional peer dependencies, and
// pnpm links an optional peer whenever the workspace has it (the root's devDependencies do). The
// lockfile then records them as dependencies of @prisma/client, and `pnpm install --prod` installs
// them: about 230 MB of build tools in the production image (pnpm/pnpm#15344). The generated
// client needs neither at run time (`prisma generate` runs from the root's own prisma), so they
// are dropped here. valibot (under Bull Board) declares `typescript` the same way, for its types
// only. A test checks that a production install holds no devDependency.
const DROPPED_OPTIONAL_PEERS = {
  "@prisma/client": ["prisma", "typescript"],
  valibot: ["typescript"],
};

module.exports = {
  hooks: {
    readPackage(manifest) {
      for (const peer of DROPPED_OPTIONAL_PEERS[manifest.name] ?? []) {
        delete manifest.peerDependencies?.[peer];
        delete manifest.peerDependenciesMeta?.[peer];
      }
      return manifest;
    },
  },
};
