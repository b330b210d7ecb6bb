// README.txt of an evidence bundle: what each file is, and how to check the
// bundle with standard tools only (unzip, openssl 3, sha256sum), so that a
// third party need not trust Egress Sentinel's own `egress verify`.

export function bundleReadme(sessionId: string, fingerprint: string): string {
  return `Egress Sentinel evidence bundle — session ${sessionId}
(Nederlands: zie onder / Dutch below)

FILES
  report.html       the report, Dutch and English (opens offline; prints to PDF)
  flows.csv         every connection to the internet in the session
  events.ndjson     the chained log: each record holds the SHA-256 of the one
                    before it ("prev"); "checkpoint" records are Ed25519
                    signatures over the chain's head
  flagged.pcapng    packets of flagged connections (Wireshark, tshark)
  public-key.pem    the gateway's public key (Ed25519)
  manifest.json     sha256 and size of every file above, versions, clock
                    state, the signed statement, the key fingerprint
  manifest.sig      Ed25519 signature of manifest.json (64 raw bytes)
  SHA256SUMS        the same hashes in sha256sum format, plus manifest.json
  SHA256SUMS.sig    Ed25519 signature of SHA256SUMS

The key that signed this bundle has the fingerprint
  ${fingerprint}
Compare it with the gateway's own (shown on the dashboard and in
\`egress key export\`), or obtain the gateway's public key another way and use
that file instead of public-key.pem below.

CHECKING WITH EGRESS SENTINEL
  egress verify bundle.zip [--pubkey gateway-public-key.pem]
  exit 0 "intact: …", exit 1 names every altered, missing or extra file or the
  first broken record, exit 2 when the file is not a bundle.

CHECKING WITH STANDARD TOOLS (OpenSSL 3, coreutils)
  unzip -d bundle bundle.zip && cd bundle
  # 1. the key: its fingerprint must be the one above (and the gateway's)
  openssl pkey -pubin -in public-key.pem -outform DER | sha256sum
  # 2. the signatures (each prints "Signature Verified Successfully")
  openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json -sigfile manifest.sig
  openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig
  # 3. every file against the signed hashes (each line must say OK)
  sha256sum -c SHA256SUMS
  # 4. no extra files: the directory holds exactly the files listed above
  ls

The chained log can be checked by hand: for each line N > 0,
  sed -n "$((N))p" events.ndjson | tr -d '\\n' | sha256sum
equals the "prev" of line N+1.

CONTROLE (NEDERLANDS)
  Dezelfde stappen: pak de zip uit, vergelijk de vingerafdruk van de sleutel
  (stap 1) met die van de gateway, controleer beide handtekeningen met
  openssl (stap 2, "Signature Verified Successfully"), controleer elk bestand
  met sha256sum -c SHA256SUMS (stap 3, elke regel "OK") en kijk dat er geen
  andere bestanden in staan (stap 4). Of: egress verify bundle.zip.
`;
}
