// Validates AsyncAPI documents with the official parser (@asyncapi/parser, pinned in
// package.json): `node asyncapi_validate.mjs FILE...`. Prints every diagnostic; exits 1 if any
// document has an error or a warning, or does not parse.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const parser = new Parser();
const severities = ["error", "warning", "info", "hint"];
let failed = false;
for (const file of process.argv.slice(2)) {
  const { document, diagnostics } = await parser.parse(readFileSync(file, "utf8"));
  for (const d of diagnostics) {
    console.log(`${file}: ${severities[d.severity]} ${d.code} at /${d.path.join("/")}: ${d.message}`);
  }
  const bad = diagnostics.filter((d) => d.severity <= 1);
  if (!document || bad.length > 0) {
    failed = true;
    console.log(`${file}: INVALID`);
  } else {
    const channels = document.channels().all().map((c) => c.id());
    const operations = document.operations().all().length;
    console.log(`${file}: valid AsyncAPI ${document.version()} (${channels.length} channels: ${channels.join(", ")}; ${operations} operations)`);
  }
}
process.exit(failed ? 1 : 0);
