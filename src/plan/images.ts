// Names of the Docker images and tags the action manages on the server.

export function imageRepo(project: string, service: string): string {
  return `${project}-${service}`
}

export function versionTag(project: string, service: string, version: string): string {
  return `${imageRepo(project, service)}:${version}`
}

export function backupTag(project: string, service: string, version: string): string {
  return `${imageRepo(project, service)}:backup-${version}`
}

export function latestTag(project: string, service: string): string {
  return `${imageRepo(project, service)}:latest`
}

export const BACKUP_PREFIX = 'backup-'
