{{/*
The app's egress lockdown: DNS (CoreDNS pods, and NodeLocal DNSCache's link-local address, which
no pod selector matches), the databases, the SMTP relay and the SMS API by their addresses (never
the whole internet), and `extra`. An enabled channel without its addresses refuses to render.
*/}}
{{- define "optin-ledger.egressPolicy" -}}
{{- $egress := .Values.networkPolicy.egress -}}
{{- if $egress.enabled }}
{{- if and .Values.smtp.host (not $egress.smtpCIDRs) }}
{{- fail "networkPolicy.egress.smtpCIDRs: name the SMTP relay's addresses (or an egress proxy's), or the lockdown cuts email off" }}
{{- end }}
{{- if and .Values.sms.existingSecret (not $egress.smsCIDRs) }}
{{- fail "networkPolicy.egress.smsCIDRs: name the SMS API's addresses (or an egress proxy's), or the lockdown cuts SMS off" }}
{{- end }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "optin-ledger.fullname" . }}-egress
  labels:
    {{- include "optin-ledger.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      app.kubernetes.io/instance: {{ .Release.Name }}
      {{- include "optin-ledger.databaseClientLabel" . | nindent 6 }}
  policyTypes: [Egress]
  egress:
    - to:
        - namespaceSelector: {}
          podSelector:
            matchLabels:
              {{- toYaml $egress.dns.podLabels | nindent 14 }}
        {{- with $egress.dns.nodeLocalAddress }}
        - ipBlock:
            cidr: {{ . }}/32
        {{- end }}
      ports:
        - {port: 53, protocol: UDP}
        - {port: 53, protocol: TCP}
    {{- $clusters := include "optin-ledger.cnpgClusters" . | fromJsonArray }}
    {{- if $clusters }}
    - to:
        {{- range $cluster := $clusters }}
        - podSelector:
            matchLabels:
              cnpg.io/cluster: {{ $cluster.name }}
        {{- end }}
        {{- range $pooler := include "optin-ledger.poolers" . | fromJsonArray }}
        - podSelector:
            matchLabels:
              cnpg.io/poolerName: {{ $pooler.name }}
        {{- end }}
      ports:
        - {port: 5432, protocol: TCP}
    {{- end }}
    {{- if and (ne .Values.database.mode "cnpg") $egress.databasePeers }}
    - to:
        {{- toYaml $egress.databasePeers | nindent 8 }}
      ports:
        - port: {{ $egress.databasePort }}
          protocol: TCP
    {{- end }}
    {{- with $egress.smtpCIDRs }}
    # the SMTP relay
    - to:
        {{- range . }}
        - ipBlock: {cidr: {{ . }}}
        {{- end }}
      ports:
        - {port: {{ $.Values.smtp.port }}, protocol: TCP}
    {{- end }}
    {{- with $egress.smsCIDRs }}
    # the SMS API
    - to:
        {{- range . }}
        - ipBlock: {cidr: {{ . }}}
        {{- end }}
      ports:
        - {port: 443, protocol: TCP}
    {{- end }}
    {{- with $egress.extra }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}
{{- end -}}
