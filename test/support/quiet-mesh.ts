// A mesh on a YAML file, started as the upstream tests start theirs: no file
// watch, no preconnect (connections open when a test's calls ask), no log lines.
import { Mesh } from 'meta-mesh';
import { writeYamlFile } from './mesh-yaml';

export async function startQuietMesh(yaml: string): Promise<{ mesh: Mesh; file: string }> {
  const file = writeYamlFile(yaml);
  const mesh = await Mesh.start({ config: file, watch: false, preconnect: false, logger: () => undefined });
  return { mesh, file };
}
