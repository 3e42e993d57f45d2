{{/* Names, labels and the pieces every workload shares. */}}

{{- define "optin-ledger.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "optin-ledger.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "optin-ledger.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "optin-ledger.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: optin-ledger
{{- end -}}

{{/* Selector labels of one component: (dict "ctx" $ "component" "api") */}}
{{- define "optin-ledger.selectorLabels" -}}
app.kubernetes.io/name: {{ include "optin-ledger.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Pods that talk to PostgreSQL carry this label; the database NetworkPolicy admits only them. */}}
{{- define "optin-ledger.databaseClientLabel" -}}
optin-ledger.io/database-client: "true"
{{- end -}}

{{- define "optin-ledger.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "optin-ledger.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "optin-ledger.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "optin-ledger.keysSecret" -}}
{{- default (printf "%s-keys" (include "optin-ledger.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "optin-ledger.secretEnv" -}}
- name: OPTIN_KEK
  valueFrom: {secretKeyRef: {name: {{ include "optin-ledger.keysSecret" . }}, key: OPTIN_KEK}}
- name: OPTIN_INDEX_KEY
  valueFrom: {secretKeyRef: {name: {{ include "optin-ledger.keysSecret" . }}, key: OPTIN_INDEX_KEY}}
- name: OPTIN_TOKEN_KEY
  valueFrom: {secretKeyRef: {name: {{ include "optin-ledger.keysSecret" . }}, key: OPTIN_TOKEN_KEY}}
- name: OPTIN_SIGNING_KEY
  valueFrom: {secretKeyRef: {name: {{ include "optin-ledger.keysSecret" . }}, key: OPTIN_SIGNING_KEY, optional: true}}
{{- with .Values.smtp.existingSecret }}
- name: OPTIN_SMTP_USERNAME
  valueFrom: {secretKeyRef: {name: {{ . }}, key: {{ $.Values.smtp.usernameKey }}, optional: true}}
- name: OPTIN_SMTP_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ . }}, key: {{ $.Values.smtp.passwordKey }}, optional: true}}
{{- end }}
{{- with .Values.sms.existingSecret }}
- name: OPTIN_SMS_ACCOUNT_SID
  valueFrom: {secretKeyRef: {name: {{ . }}, key: {{ $.Values.sms.accountSidKey }}}}
- name: OPTIN_SMS_AUTH_TOKEN
  valueFrom: {secretKeyRef: {name: {{ . }}, key: {{ $.Values.sms.authTokenKey }}}}
{{- end }}
{{- end -}}

{{/* Environment of the long-running containers: the ConfigMap, then secrets by reference. */}}
{{/* The proxies whose X-Forwarded-For names the client: required with the ingress, or every
visitor would share the ingress's address (one rate-limit bucket, one login throttle). */}}
{{- define "optin-ledger.trustedProxies" -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.trustedProxies) -}}
{{- fail "ingress.trustedProxies: list the CIDRs the ingress controller's pods connect from (the pod network, e.g. 10.244.0.0/16); without them every visitor shares the ingress's address" -}}
{{- end -}}
{{- join "," .Values.ingress.trustedProxies -}}
{{- end -}}

{{- define "optin-ledger.envFrom" -}}
- configMapRef:
    name: {{ include "optin-ledger.fullname" . }}
{{- end -}}

{{/* The env of one long-running component: (dict "ctx" $ "component" "api"). */}}
{{- define "optin-ledger.env" -}}
{{- $values := index .ctx.Values .component -}}
{{- $pooled := and (eq .component "api") (include "optin-ledger.usesPooler" .ctx) -}}
{{ include "optin-ledger.databaseEnv" (dict "ctx" .ctx "as" "service" "pooled" $pooled) }}
{{- if and (eq .component "api") (include "optin-ledger.readReplicas" .ctx) }}
# read-model queries on the standbys; the primary answers what they cannot (README: "Read replicas")
{{ include "optin-ledger.readReplicaEnv" .ctx }}
{{- end }}
{{ include "optin-ledger.erasureLogEnv" .ctx }}
{{ include "optin-ledger.secretEnv" .ctx }}
# the connection budget counts on these
- name: OPTIN_DB_POOL_MIN
  value: {{ $values.pool.min | quote }}
- name: OPTIN_DB_POOL_MAX
  value: {{ $values.pool.max | quote }}
{{- if $pooled }}
# PgBouncer in transaction mode: a prepared statement may not be on the next transaction's server
- name: OPTIN_DB_STATEMENT_CACHE
  value: "0"
{{- end }}
# Prometheus text at :{{ .ctx.Values.monitoring.metricsPort }}/metrics, reachable from other pods
- name: OPTIN_METRICS_HOST
  value: 0.0.0.0
- name: OPTIN_METRICS_PORT
  value: {{ .ctx.Values.monitoring.metricsPort | quote }}
{{- with .ctx.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pods that serve /metrics carry this label: the metrics Service and NetworkPolicy select it. */}}
{{- define "optin-ledger.metricsLabel" -}}
optin-ledger.io/metrics: "true"
{{- end -}}

{{- define "optin-ledger.metricsPort" -}}
- name: metrics
  containerPort: {{ .Values.monitoring.metricsPort }}
  protocol: TCP
{{- end -}}

{{- define "optin-ledger.podSpecCommon" -}}
serviceAccountName: {{ include "optin-ledger.serviceAccountName" . }}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: {{ .Values.tmpSizeLimit }}
  {{- range $cluster := include "optin-ledger.cnpgClusters" . | fromJsonArray }}
  # the CA that signed this CloudNativePG cluster's server certificate (sslmode=verify-full)
  - name: {{ $cluster.volume }}
    secret:
      secretName: {{ $cluster.name }}-ca
      items: [{key: ca.crt, path: ca.crt}]
  {{- end }}
{{- end -}}

{{- define "optin-ledger.containerCommon" -}}
image: {{ include "optin-ledger.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  {{- range $cluster := include "optin-ledger.cnpgClusters" . | fromJsonArray }}
  - name: {{ $cluster.volume }}
    mountPath: {{ $cluster.caDir }}
    readOnly: true
  {{- end }}
{{- end -}}

{{/* Placement of one component: (dict "ctx" $ "component" "api" "values" .Values.api) */}}
{{- define "optin-ledger.placement" -}}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if dig "topologySpread" "enabled" true .values }}
topologySpreadConstraints:
  {{- range $key := list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
  - maxSkew: {{ dig "topologySpread" "maxSkew" 1 $.values }}
    topologyKey: {{ $key }}
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "optin-ledger.selectorLabels" (dict "ctx" $.ctx "component" $.component) | nindent 8 }}
    matchLabelKeys: [pod-template-hash]
  {{- end }}
{{- end }}
{{- end -}}
