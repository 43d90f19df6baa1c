-- Seed the catalog with the apps users deploy first, pointing at their public charts.
-- Existing entries (edited by admins) are left alone.
INSERT INTO "CatalogEntry" ("id", "name", "chart", "defaultValues", "createdAt", "updatedAt") VALUES
  ('vaultwarden', 'Vaultwarden', '{"sourceType":"helm","url":"https://guerzon.github.io/vaultwarden","name":"vaultwarden","version":"0.31.8"}', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
  ('nextcloud', 'Nextcloud', '{"sourceType":"helm","url":"https://nextcloud.github.io/helm/","name":"nextcloud","version":"6.6.10"}', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
  ('mattermost', 'Mattermost', '{"sourceType":"helm","url":"https://helm.mattermost.com","name":"mattermost-team-edition","version":"6.6.76"}', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
  ('wordpress', 'WordPress', '{"sourceType":"oci","url":"oci://registry-1.docker.io/bitnamicharts","name":"wordpress","version":"24.2.2"}', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
  ('immich', 'Immich', '{"sourceType":"oci","url":"oci://ghcr.io/immich-app/immich-charts","name":"immich","version":"0.9.3"}', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
  ('gitea', 'Gitea', '{"sourceType":"helm","url":"https://dl.gitea.com/charts/","name":"gitea","version":"12.1.1"}', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
  ('n8n', 'n8n', '{"sourceType":"oci","url":"oci://8gears.container-registry.com/library","name":"n8n","version":"1.0.10"}', '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)
ON CONFLICT ("id") DO NOTHING;
