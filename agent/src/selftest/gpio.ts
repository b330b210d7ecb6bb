// GPIO check: open the chosen driver (sim, libgpiod, cli) with the configured
// pins, then release it. A driver that cannot run here fails with its own fix.

import { type DriverKind, GpioError, type GpioPins, type OpenGpioOptions, openGpio } from '@egress/hardware';
import { type CheckResult, result } from './types.js';

export async function checkGpio(
  kind: DriverKind | undefined,
  pins: GpioPins,
  opts: OpenGpioOptions = {},
): Promise<CheckResult> {
  if (kind === undefined) return result('gpio', 'skip', 'no GPIO driver chosen (--gpio sim|libgpiod|cli)', null);
  try {
    const gpio = await openGpio(kind, pins, opts);
    await gpio.close();
    return result(
      'gpio',
      'pass',
      `GPIO driver ${kind} opened ${kind === 'sim' ? 'the simulated pins' : pins.chip}`,
      null,
      { driver: kind, pins },
    );
  } catch (err) {
    if (err instanceof GpioError)
      return result(
        'gpio',
        'fail',
        err.message,
        { id: err.fixId, text: err.fix, facts: err.fixFacts },
        {
          driver: kind,
          code: err.code,
        },
      );
    throw err;
  }
}
