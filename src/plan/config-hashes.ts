// Whether the running containers are still what their own release's compose file gives today.
// Compose labels each container with the config hash it was created from; `compose config
// --hash` computes it again now. Where they differ, something outside the compose file changed
// since (the server's .env, an env file, compose itself), and compose would recreate the service:
// the switch must not keep it. Pure: the two commands' output in, services out.

/** `<service> <hash>` lines as service → the hashes seen for it. */
function hashesOf(text: string): Map<string, Set<string>> {
  const map = new Map<string, Set<string>>()
  for (const line of text.split('\n')) {
    const [service = '', hash = ''] = line.trim().split(/\s+/)
    if (service === '') continue
    const seen = map.get(service) ?? new Set<string>()
    seen.add(hash)
    map.set(service, seen)
  }
  return map
}

/**
 * The services of `services` whose containers were not all created with the hash compose
 * computes now (`computed`: `compose config --hash` output; `labels`: each container's
 * service and config-hash label). No hash or no container counts as drifted: the safe side.
 */
export function driftedServices(
  services: readonly string[],
  computed: string,
  labels: string
): string[] {
  const now = hashesOf(computed)
  const created = hashesOf(labels)
  return services.filter(s => {
    const hash = [...(now.get(s) ?? [])][0]
    const seen = created.get(s)
    return !hash || !seen || seen.size !== 1 || !seen.has(hash)
  })
}
