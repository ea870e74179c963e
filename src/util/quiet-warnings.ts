/**
 * Keeps stderr to our own one-line messages: drops the AWS SDK's start-up notice
 * that its 2027 releases will need Node 22 (we pin a version that runs on Node 20)
 * and deprecation notices of dependencies; other warnings stay, on one line.
 */
export function quietWarnings(prefix: string): void {
  process.removeAllListeners('warning')
  process.on('warning', w => {
    if (`${w.name} ${w.message}`.includes('NodeVersionSupportWarning') || w.name === 'DeprecationWarning') return
    process.stderr.write(`${prefix}: warning: ${w.message.split('\n')[0]}\n`)
  })
}
