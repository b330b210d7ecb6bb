// @egress/hardware: GPIO drivers behind one interface, the signal state
// machine, and the adapter the live agent drives. Provisioning is install.sh.

export { BlockClient } from './block/client.js';
export { BlockHelper, type BlockHelperOptions } from './block/helper.js';
export {
  type BlockAdd,
  type BlockCommand,
  type BlockDel,
  formatBlockLine,
  formatUnblockLine,
  formatUnwatchLine,
  formatWatchLine,
  MAX_TIMEOUT_S,
  MAX_WATCH_S,
  MIN_WATCH_S,
  nftAddArgs,
  nftDelArgs,
  nftUnwatchArgs,
  nftWatchArgs,
  parseBlockCommand,
  parseBlockLine,
  WATCH_SET,
  type WatchCommand,
} from './block/protocol.js';
export { CliGpio, type CliGpioOptions, parseMonitorLine } from './gpio/cli.js';
export {
  type ButtonListener,
  chipPath,
  DEFAULT_PINS,
  DRIVER_KINDS,
  type DriverKind,
  type GpioDriver,
  GpioError,
  GpioErrorCode,
  type GpioErrorCodeValue,
  type GpioPins,
  OUTPUT_NAMES,
  type OutputName,
  validatePins,
} from './gpio/driver.js';
export {
  defineFix,
  type FixDefinition,
  type FixFacts,
  type FixOf,
  GPIO_FIXES,
  type GpioFix,
  type GpioFixId,
  gpioFix,
} from './gpio/fixes.js';
export { LibgpiodGpio, type LibgpiodModule, type LibgpiodOptions, loadLibgpiod } from './gpio/libgpiod.js';
export { type OpenGpioOptions, openGpio, parseDriverKind } from './gpio/open.js';
export { type OutputChange, SimulatedGpio } from './gpio/sim.js';
export { SimGpioClient, type SimOutputs } from './gpio/sim-client.js';
export { SimGpioSocket } from './gpio/sim-socket.js';
export { SignalAdapter, type SignalAdapterOptions, type SignalCallbacks } from './signals/adapter.js';
export * from './signals/machine.js';
