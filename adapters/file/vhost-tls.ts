// A vhost's `tls: { cert, key }` (SPEC §7): the PEM files it names, read
// and checked as the host's certificate. The files are read at every version
// of the vhosts and whenever their directories announce a change (watched
// like the vhosts' own), so a renewed certificate is served without a restart.

import { dirname, resolve } from 'node:path';
import type { VhostTls } from '../../schema/vhosts.schema.js';
import { checkCertificate } from '../../src/tls/certificate.js';
import type { VhostsDocument } from './document.js';
import type { CertificateCandidate } from './held-certificates.js';
import { hashTexts, readPem, settled, statSignature, type TextRead } from './pem-files.js';
import { pointerOf, type FileProblem } from './problems.js';

export interface VhostTlsFiles {
  /** The host, normalised: the name the certificate is stored under and must cover. */
  host: string;
  /** Absolute paths (the same one when a file holds both). */
  cert: string;
  key: string;
  /** Where the `tls` entry is written, for problems. */
  at: Pick<FileProblem, 'file' | 'line' | 'column' | 'path'>;
}

export type TlsReferences = ReadonlyMap<string, VhostTlsFiles>;

export function tlsFilesOf(doc: VhostsDocument, key: string, host: string, tls: VhostTls): VhostTlsFiles {
  const base = dirname(doc.file);
  const path = pointerOf(['vhosts', key, 'tls']);
  return { host, cert: resolve(base, tls.cert), key: resolve(base, tls.key), at: { file: doc.file, ...doc.locate(path), path } };
}

/** The certificates the references name, as read now (until two reads agree), and a hash of what was read. */
export async function readVhostCertificates(refs: TlsReferences): Promise<{ candidates: CertificateCandidate[]; hash: string }> {
  const paths = filesOf(refs);
  const { texts, hash } = await settled(async () => {
    const texts = new Map(await Promise.all(paths.map(async (path): Promise<[string, TextRead]> => [path, await readPem(path)])));
    return { texts, hash: hashTexts(texts) };
  });
  return { candidates: [...refs.values()].map((ref) => candidateOf(ref, texts)), hash };
}

function candidateOf(ref: VhostTlsFiles, texts: ReadonlyMap<string, TextRead>): CertificateCandidate {
  const files: Record<string, string> = ref.cert === ref.key ? { cert: ref.cert } : { cert: ref.cert, keyFile: ref.key };
  const base = { key: ref.host, name: ref.host, files };
  if (ref.host === '*') return { ...base, read: { error: 'the catch-all "*" has no certificate of its own: https.cert is served for every name nothing else covers' } };
  const cert = texts.get(ref.cert)!;
  const key = texts.get(ref.key)!;
  if ('error' in cert) return { ...base, read: cert };
  if ('error' in key) return { ...base, read: key };
  return { ...base, read: { pem: ref.cert === ref.key ? cert.text : `${cert.text}\n${key.text}` } };
}

/** What stat says of every file named: the periodic re-check reads them again only when it changed. */
export function tlsSignature(refs: TlsReferences): Promise<string> {
  return statSignature(filesOf(refs));
}

/** For `switchyard validate`: every certificate the proxy would not serve, as a problem at its `tls` entry. */
export async function certificateProblems(refs: TlsReferences, now = Date.now()): Promise<FileProblem[]> {
  const { candidates } = await readVhostCertificates(refs);
  return candidates.flatMap((candidate): FileProblem[] => {
    const ref = refs.get(candidate.key)!;
    const checked = 'error' in candidate.read ? null : checkReason(candidate.read.pem, ref.host, now);
    const reason = 'error' in candidate.read ? candidate.read.error : checked === null ? null : `certificate ${ref.cert}: ${checked}`;
    return reason === null ? [] : [{ code: 'FILE_CERTIFICATE', ...ref.at, reason, host: ref.host }];
  });
}

function checkReason(pem: string, host: string, now: number): string | null {
  const checked = checkCertificate(pem, { key: host, name: host }, now);
  return checked.ok ? null : checked.reason;
}

export function filesOf(refs: TlsReferences): string[] {
  return [...new Set([...refs.values()].flatMap((ref) => [ref.cert, ref.key]))].sort();
}
