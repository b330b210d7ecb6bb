// What to do when a GPIO driver cannot run: each fix has a stable id and the
// facts its sentence needs, so a page can say it in its own language (the
// dashboard's catalogue, dashboard/src/i18n-fix.ts). The English sentence
// made here is the one the CLI and the logs print.

/** The facts a fix sentence is made from: strings and numbers only, so they travel as text. */
export type FixFacts<K extends readonly string[]> = { readonly [P in K[number]]: string | number };

/** One fix: the names of its facts and its English sentence. */
export interface FixDefinition<K extends readonly string[] = readonly string[]> {
  readonly facts: K;
  readonly en: (f: FixFacts<K>) => string;
}

/** Declare a fix; `facts` names every placeholder of its sentences. */
export function defineFix<const K extends readonly string[]>(
  facts: K,
  en: (f: FixFacts<K>) => string,
): FixDefinition<K> {
  return { facts, en };
}

/** A fix as a result carries it: id, English sentence, facts. */
export interface FixOf<Id extends string> {
  readonly id: Id;
  readonly text: string;
  readonly facts: Readonly<Record<string, string | number>>;
}

export const GPIO_FIXES = {
  gpio_tool_missing: defineFix(['tool'], () => 'apt install gpiod (or use --gpio libgpiod)'),
  gpio_chip_missing: defineFix(['chip'], () => 'check the chip with gpiodetect (older Pi 5 kernels: gpiochip4)'),
  gpio_pin_invalid: defineFix(['pin'], () => 'give BCM numbers'),
  gpio_pin_shared: defineFix(['first', 'second', 'line'], () => 'give each signal its own line'),
  gpio_chip_name_invalid: defineFix(['chip'], () => 'e.g. gpiochip0'),
  gpio_libgpiod_missing: defineFix(
    [],
    () => 'apt install libgpiod-dev build-essential, then npm_config_nodedir=/usr pnpm install; or use --gpio cli',
  ),
  gpio_chip_unopenable: defineFix(
    ['chip'],
    () => 'check the chip with gpiodetect; the service user needs the gpio group',
  ),
  gpio_lines_busy: defineFix(
    ['chip'],
    () => 'another program holds a line (gpioinfo shows which) or the pin numbers are wrong',
  ),
  gpio_pins_syntax: defineFix(['part'], () => 'e.g. --gpio-pins green=17,amber=27,red=22,buzzer=23,button=24'),
  gpio_driver_unknown: defineFix(['drivers'], (f) => `choose one of ${f.drivers}`),
} as const;

export type GpioFixId = keyof typeof GPIO_FIXES;
export type GpioFix = FixOf<GpioFixId>;

/** The fix `id` with its facts, and its English sentence made from them. */
export function gpioFix<I extends GpioFixId>(id: I, facts: FixFacts<(typeof GPIO_FIXES)[I]['facts']>): GpioFix {
  const def = GPIO_FIXES[id] as FixDefinition;
  return { id, text: def.en(facts), facts: { ...facts } };
}
