// Node 20.0-20.3 predate Symbol.dispose; TypeScript's `using` looks the symbol up the same way.
const symbols = Symbol as { dispose?: symbol; asyncDispose?: symbol }
symbols.dispose ??= Symbol.for('Symbol.dispose')
symbols.asyncDispose ??= Symbol.for('Symbol.asyncDispose')

export {}
