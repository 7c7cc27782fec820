// Synthesizes app.ts as `cdk synth` would, without the CDK CLI and without
// type checking (which loads all of aws-cdk-lib's declarations and takes a
// minute; `npm run check` type-checks): the TypeScript is transpiled in
// memory and run with the context the CLI gives an app (construct paths and
// asset paths in Metadata). CDK_OUTDIR names the output folder.
const fs = require('fs');
const path = require('path');
const ts = require('typescript');
const file = path.join(__dirname, 'app.ts');
const js = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
  compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  fileName: file,
}).outputText;
process.env.CDK_CONTEXT_JSON = JSON.stringify({
  'aws:cdk:enable-path-metadata': true,
  'aws:cdk:enable-asset-metadata': true,
  ...JSON.parse(process.env.CDK_CONTEXT_JSON || '{}'),
});
const m = new module.constructor(file, module);
m.filename = file;
m.paths = module.constructor._nodeModulePaths(__dirname);
m._compile(js, file);
