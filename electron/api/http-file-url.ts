/** Paths under which serve mode hands out files (the service asks for them; the server answers them). */
export function httpFilePath(file: { artifactId: number } | { datasetId: number; imageId: string }): string {
  return 'artifactId' in file
    ? `/files/artifact/${file.artifactId}`
    : `/files/dataset/${file.datasetId}/${encodeURIComponent(file.imageId)}`;
}
