// The banner's "capture incomplete" line (issue 15 part 3, DESIGN.md
// `capture_gap`): while the agent's status says a gap was less than a clean
// interval ago, the operator reads that "no alert" is not "nothing
// happened", with what was missed and when, in words and with a sign (not
// colour alone).

import { localTime, number, t, utcTime } from './i18n.js';
import type { MessageKey } from './i18n-en.js';
import type { CaptureGapMsg } from './proto.js';

const CAUSES = new Set(['kernel_drop', 'interface_drop', 'capture_restart', 'capture_down']);

export function CaptureIncomplete({ gap, drops }: { gap: CaptureGapMsg | null; drops: number }) {
  let detail = drops > 0 ? t('dropsWarning', { n: number(drops) }) : '';
  if (gap && CAUSES.has(gap.cause)) {
    const words = t(`gap${gap.cause}` as MessageKey, {
      n: gap.packetsDropped === null ? '?' : number(gap.packetsDropped),
      from: localTime(gap.startUs),
      to: localTime(gap.endUs),
    });
    detail = `${words} (${number(Math.round((gap.endUs - gap.startUs) / 1e5) / 10)} s)`;
  }
  return (
    <strong
      class="warn"
      data-testid="capture-incomplete"
      data-cause={gap?.cause ?? ''}
      title={gap ? `${utcTime(gap.startUs)} – ${utcTime(gap.endUs)}` : undefined}
    >
      ⚠ {t('captureIncomplete')}
      {detail && (
        <>
          <br />
          {detail}
        </>
      )}
    </strong>
  );
}
