// Verifies captured Session Comfort deliveries in Node, as a vendor would: with the snippets of
// docs/vendor-webhooks.md (the npm `standardwebhooks` package, and the hand-written
// Comfort-Signature check), which the Python test extracts to the modules named here.
// Usage: node verify_deliveries.mjs STANDARD_SNIPPET COMFORT_SNIPPET CAPTURE_JSON
//   CAPTURE_JSON: {"secret", "wrong_secret", "attempts": [{"body": base64, "headers": {…}}]}
// Prints a JSON report: for each attempt, what each check answered.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { Webhook } from "standardwebhooks";

const [standardPath, comfortPath, capturePath] = process.argv.slice(2);
const { comfortWebhook } = await import(pathToFileURL(standardPath).href);
const { verifyComfortSignature } = await import(pathToFileURL(comfortPath).href);
const capture = JSON.parse(readFileSync(capturePath, "utf8"));

function outcome(check) {
  try {
    return { ok: true, value: check() ?? null };
  } catch (err) {
    return { ok: false, error: err.name };
  }
}

const report = capture.attempts.map(({ body, headers }) => {
  const raw = Buffer.from(body, "base64");
  const tampered = Buffer.concat([raw, Buffer.from(" ")]);
  return {
    verified: outcome(() => comfortWebhook(capture.secret).verify(raw, headers)),
    tampered: outcome(() => comfortWebhook(capture.secret).verify(tampered, headers)),
    wrongSecret: outcome(() => comfortWebhook(capture.wrong_secret).verify(raw, headers)),
    // What the docs warn against: a plain secret handed over as a string in "raw" format.
    rawString: outcome(() => new Webhook(capture.secret, { format: "raw" }).verify(raw, headers)),
    comfortSignature: verifyComfortSignature(headers["Comfort-Signature"], raw, capture.secret),
    comfortSignatureTampered: verifyComfortSignature(
      headers["Comfort-Signature"],
      tampered,
      capture.secret,
    ),
  };
});
console.log(JSON.stringify(report));
