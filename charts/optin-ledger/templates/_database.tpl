{{/* Where the app's two databases are, how it logs in to them, and how many connections it may use. */}}

{{- define "optin-ledger.cnpgName" -}}
{{- printf "%s-db" (include "optin-ledger.fullname" .) | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "optin-ledger.erasuresName" -}}
{{- printf "%s-erasures" (include "optin-ledger.fullname" .) | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{- define "optin-ledger.poolerName" -}}
{{- printf "%s-pooler" (include "optin-ledger.cnpgName" .) -}}
{{- end -}}

{{- define "optin-ledger.erasureLogMode" -}}
{{- .Values.erasureLog.mode | default (ternary "cnpg" "external" (eq .Values.database.mode "cnpg")) -}}
{{- end -}}

{{- define "optin-ledger.serviceRoleSecret" -}}
{{- .Values.database.cnpg.serviceRoleSecret | default (printf "%s-service" (include "optin-ledger.cnpgName" .)) -}}
{{- end -}}

{{- define "optin-ledger.usesPooler" -}}
{{- if and (eq .Values.database.mode "cnpg") .Values.database.cnpg.pooler.enabled -}}
{{- if not (and .Values.projector.enabled .Values.worker.enabled) -}}
{{- fail "database.cnpg.pooler needs projector and worker enabled: their LISTEN/NOTIFY cannot go through transaction pooling" -}}
{{- end -}}
true
{{- end -}}
{{- end -}}

{{/*
The PgBouncer poolers of the ledger's cluster, as JSON (name, type): `rw` in front of the primary
for the API, and `ro` in front of the standbys for its reads when those go to read replicas.
*/}}
{{- define "optin-ledger.poolers" -}}
{{- $poolers := list -}}
{{- if include "optin-ledger.usesPooler" . -}}
{{- $name := include "optin-ledger.poolerName" . -}}
{{- $poolers = append $poolers (dict "name" $name "type" "rw") -}}
{{- if include "optin-ledger.readReplicas" . -}}
{{- $poolers = append $poolers (dict "name" (printf "%s-ro" $name) "type" "ro") -}}
{{- end -}}
{{- end -}}
{{- toJson $poolers -}}
{{- end -}}

{{/* The CloudNativePG clusters this release makes, as JSON: name, CA volume and mount. */}}
{{- define "optin-ledger.cnpgClusters" -}}
{{- $clusters := list -}}
{{- if eq .Values.database.mode "cnpg" -}}
{{- $clusters = append $clusters (dict "name" (include "optin-ledger.cnpgName" .) "volume" "ledger-db-ca" "caDir" "/etc/optin-ledger/ledger-db") -}}
{{- end -}}
{{- if eq (include "optin-ledger.erasureLogMode" .) "cnpg" -}}
{{- $clusters = append $clusters (dict "name" (include "optin-ledger.erasuresName" .) "volume" "erasures-db-ca" "caDir" "/etc/optin-ledger/erasures-db") -}}
{{- end -}}
{{- toJson $clusters -}}
{{- end -}}

{{/* A DSN verified against the cluster's own CA; the password comes from an earlier variable. */}}
{{- define "optin-ledger.cnpgDsn" -}}
{{- printf "postgresql://%s:$(%s)@%s.%s.svc:5432/%s?sslmode=verify-full&sslrootcert=%s/ca.crt" .user .passwordVar .host .ctx.Release.Namespace .database .caDir -}}
{{- end -}}

{{/*
DATABASE_URL of one kind of pod: (dict "ctx" $ "as" "service"|"owner" "pooled" bool).
The service logs in as config.dbRole; migrations as the owner.
*/}}
{{- define "optin-ledger.databaseEnv" -}}
{{- $v := .ctx.Values -}}
{{- if eq $v.database.mode "cnpg" -}}
{{- $cluster := include "optin-ledger.cnpgName" .ctx -}}
{{- $owner := eq .as "owner" -}}
{{- $host := printf "%s-rw" $cluster -}}
{{- if and .pooled (not $owner) -}}
{{- $host = include "optin-ledger.poolerName" .ctx -}}
{{- end -}}
- name: OPTIN_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ ternary (printf "%s-app" $cluster) (include "optin-ledger.serviceRoleSecret" .ctx) $owner }}
      key: password
- name: DATABASE_URL
  value: {{ include "optin-ledger.cnpgDsn" (dict "ctx" .ctx "user" (ternary $v.database.cnpg.owner $v.config.dbRole $owner) "passwordVar" "OPTIN_DB_PASSWORD" "host" $host "database" $v.database.cnpg.database "caDir" "/etc/optin-ledger/ledger-db") | quote }}
{{- else -}}
{{- $key := $v.database.external.urlKey -}}
{{- if and (eq .as "owner") $v.database.external.migrationUrlKey -}}
{{- $key = $v.database.external.migrationUrlKey -}}
{{- end -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.database.external.existingSecret | default (printf "%s-database" (include "optin-ledger.fullname" .ctx)) }}
      key: {{ $key }}
{{- end -}}
{{- end -}}

{{/* Does the API read from streaming replicas (DATABASE_READ_URL)? */}}
{{- define "optin-ledger.readReplicas" -}}
{{- if .Values.database.readReplicas.enabled -}}
{{- if or (eq .Values.database.mode "cnpg") .Values.database.external.readUrlKey -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/*
DATABASE_READ_URL and its bounds, for the API: the cluster's `-ro` Service (its standbys), or the
`ro` pooler in front of them, as the service's login, whose OPTIN_DB_PASSWORD `databaseEnv` has
set before; or the external URL.
*/}}
{{- define "optin-ledger.readReplicaEnv" -}}
{{- $v := .Values -}}
{{- if eq $v.database.mode "cnpg" -}}
{{- $host := printf "%s-ro" (include "optin-ledger.cnpgName" .) -}}
{{- if include "optin-ledger.usesPooler" . -}}
{{- $host = printf "%s-ro" (include "optin-ledger.poolerName" .) -}}
{{- end -}}
- name: DATABASE_READ_URL
  value: {{ include "optin-ledger.cnpgDsn" (dict "ctx" . "user" $v.config.dbRole "passwordVar" "OPTIN_DB_PASSWORD" "host" $host "database" $v.database.cnpg.database "caDir" "/etc/optin-ledger/ledger-db") | quote }}
{{- else -}}
- name: DATABASE_READ_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.database.external.existingSecret | default (printf "%s-database" (include "optin-ledger.fullname" .)) }}
      key: {{ $v.database.external.readUrlKey }}
{{- end }}
- name: OPTIN_READ_REPLICA_WAIT_SECONDS
  value: {{ $v.database.readReplicas.waitSeconds | quote }}
- name: OPTIN_READ_REPLICA_MAX_LAG_SECONDS
  value: {{ $v.database.readReplicas.maxLagSeconds | quote }}
{{- end -}}

{{/* Does the service log in as its own role (no SET ROLE to undo)? */}}
{{- define "optin-ledger.dedicatedLogin" -}}
{{- if or (eq .Values.database.mode "cnpg") .Values.database.external.migrationUrlKey -}}true{{- end -}}
{{- end -}}

{{/* OPTIN_ERASURE_LOG: never the pod's own disk, always configured. */}}
{{- define "optin-ledger.erasureLogEnv" -}}
{{- if eq (include "optin-ledger.erasureLogMode" .) "cnpg" -}}
{{- $cnpg := .Values.erasureLog.cnpg -}}
- name: OPTIN_ERASURE_LOG_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "optin-ledger.erasuresName" . }}-app
      key: password
- name: OPTIN_ERASURE_LOG
  value: {{ include "optin-ledger.cnpgDsn" (dict "ctx" . "user" $cnpg.owner "passwordVar" "OPTIN_ERASURE_LOG_PASSWORD" "host" (printf "%s-rw" (include "optin-ledger.erasuresName" .)) "database" $cnpg.database "caDir" "/etc/optin-ledger/erasures-db") | quote }}
{{- else -}}
- name: OPTIN_ERASURE_LOG
  valueFrom:
    secretKeyRef:
      name: {{ .Values.erasureLog.external.existingSecret | default (printf "%s-erasure-log" (include "optin-ledger.fullname" .)) }}
      key: {{ .Values.erasureLog.external.urlKey }}
{{- end -}}
{{- end -}}

{{/* Memory in MiB from a Kubernetes quantity (Gi, Mi, G, M). */}}
{{- define "optin-ledger.mebibytes" -}}
{{- $q := toString . -}}
{{- if hasSuffix "Gi" $q -}}{{- mul (trimSuffix "Gi" $q | atoi) 1024 -}}
{{- else if hasSuffix "Mi" $q -}}{{- trimSuffix "Mi" $q | atoi -}}
{{- else if hasSuffix "G" $q -}}{{- div (mul (trimSuffix "G" $q | atoi) 1000000000) 1048576 -}}
{{- else if hasSuffix "M" $q -}}{{- div (mul (trimSuffix "M" $q | atoi) 1000000) 1048576 -}}
{{- else -}}{{- fail (printf "database memory %q: give it in Gi, Mi, G or M" $q) -}}
{{- end -}}
{{- end -}}

{{/* PostgreSQL parameters sized for the instance's memory limit; explicit ones win. */}}
{{- define "optin-ledger.postgresParameters" -}}
{{- $memory := include "optin-ledger.mebibytes" .resources.limits.memory | int -}}
{{- $connections := int .maxConnections -}}
{{- $derived := dict
  "max_connections" (toString $connections)
  "shared_buffers" (printf "%dMB" (div $memory 4))
  "effective_cache_size" (printf "%dMB" (div (mul $memory 3) 4))
  "maintenance_work_mem" (printf "%dMB" (min 2048 (div $memory 16)))
  "work_mem" (printf "%dMB" (max 4 (div (div (mul $memory 3) 4) (mul $connections 3))))
-}}
{{- toYaml (merge (deepCopy (.parameters | default dict)) $derived) -}}
{{- end -}}

{{/* Guaranteed QoS: requests equal to limits, CPU and memory. */}}
{{- define "optin-ledger.guaranteed" -}}
{{- $r := .resources -}}
{{- $requests := $r.requests | default dict -}}
{{- $limits := $r.limits | default dict -}}
{{- if not (and $limits.cpu $limits.memory (eq (toString $requests.cpu) (toString $limits.cpu)) (eq (toString $requests.memory) (toString $limits.memory))) -}}
{{- fail (printf "%s.resources: requests must equal limits for cpu and memory (Guaranteed QoS: the last pods a node evicts)" .path) -}}
{{- end -}}
{{- toYaml $r -}}
{{- end -}}

{{/*
The connection budget: every connection the release may open to the ledger's PostgreSQL at
once, at the HPA maximum and during a rolling update, must fit under max_connections minus the
superuser reserve and the chart's reserve. Fails the render otherwise; returns the figures.
*/}}
{{- define "optin-ledger.connectionBudget" -}}
{{- $v := .Values -}}
{{- $apiPods := int (ternary $v.api.autoscaling.maxReplicas $v.api.replicas $v.api.autoscaling.enabled) -}}
{{- $apiPods = add $apiPods (div (add (mul $apiPods 25) 99) 100) -}}
{{- $apiClients := mul $apiPods $v.api.pool.max -}}
{{- $api := $apiClients -}}
{{- if include "optin-ledger.usesPooler" . -}}
{{- $pooler := $v.database.cnpg.pooler -}}
{{- if gt $apiClients (int $pooler.maxClientConn) -}}
{{- fail (printf "connection budget: %d API connections at most would exceed database.cnpg.pooler.maxClientConn %d" $apiClients (int $pooler.maxClientConn)) -}}
{{- end -}}
{{- $api = mul $pooler.instances (add $pooler.defaultPoolSize 1) -}}
{{- end -}}
{{- $projector := ternary (mul $v.projector.replicas (add $v.projector.pool.max 1)) 0 $v.projector.enabled -}}
{{- $worker := ternary (mul $v.worker.replicas $v.worker.pool.max) 0 $v.worker.enabled -}}
{{- $max := int (ternary $v.database.cnpg.maxConnections $v.database.external.maxConnections (eq $v.database.mode "cnpg")) -}}
{{- $superuser := int (dig "superuser_reserved_connections" "3" $v.database.cnpg.parameters) -}}
{{- $limit := sub (sub $max $superuser) $v.connectionBudget.reserve -}}
{{- $total := add $api $projector $worker -}}
{{- if gt $total $limit -}}
{{- fail (printf "connection budget: API %d + projector %d + worker %d = %d connections, over the %d that max_connections %d leaves after %d superuser and %d reserved; lower the pools or replicas, raise max_connections, or enable database.cnpg.pooler" $api $projector $worker $total $limit $max $superuser (int $v.connectionBudget.reserve)) -}}
{{- end -}}
{{- /* The API's reads on the standbys (directly, or through the `ro` pooler) are at most its share
here, even all on one standby: within the budget of each standby too. */ -}}
{{- toJson (dict "api" $api "projector" $projector "worker" $worker "total" $total "limit" $limit "maxConnections" $max) -}}
{{- end -}}
