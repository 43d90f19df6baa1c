// @prisma/client declares `prisma` (the CLI) and `typescript` as optional peer dependencies, and
// pnpm links an optional peer whenever the workspace has it (the root's devDependencies do). The
// lockfile then records them as dependencies of @prisma/client, and `pnpm install --prod` installs
// them: about 230 MB of build tools in the production image (pnpm/pnpm#15344). The generated
// client needs neither at run time (`prisma generate` runs from the root's own prisma), so they
// are dropped here. A test checks that a production install holds no devDependency.
module.exports = {
  hooks: {
    readPackage(manifest) {
      if (manifest.name === "@prisma/client") {
        for (const peer of ["prisma", "typescript"]) {
          delete manifest.peerDependencies?.[peer];
          delete manifest.peerDependenciesMeta?.[peer];
        }
      }
      return manifest;
    },
  },
};
