{{/* The release's name prefix: <release>-natter, or <release> if it already says natter. */}}
{{- define "natter.fullname" -}}
{{- if contains "natter" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-natter" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "natter.labels" -}}
app.kubernetes.io/name: natter
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector of one component (edge, history): call with (list $ "edge"). */}}
{{- define "natter.selector" -}}
app.kubernetes.io/name: natter
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "natter.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "natter.jwtSecretName" -}}
{{- .Values.jwt.existingSecret | default (printf "%s-jwt" (include "natter.fullname" .)) -}}
{{- end -}}

{{- define "natter.natsSecretName" -}}
{{- .Values.natsConnection.existingSecret | default (printf "%s-nats" (include "natter.fullname" .)) -}}
{{- end -}}

{{- define "natter.hasNatsSecret" -}}
{{- if or .Values.natsConnection.existingSecret .Values.natsConnection.password .Values.natsConnection.creds -}}true{{- end -}}
{{- end -}}

{{/* The NATS URLs: the given cluster, or the NATS chart's Service. */}}
{{- define "natter.natsURL" -}}
{{- if .Values.natsConnection.urls -}}
{{- join "," .Values.natsConnection.urls -}}
{{- else if .Values.nats.enabled -}}
{{- printf "nats://%s:4222" (.Values.nats.fullnameOverride | default (printf "%s-nats" .Release.Name)) -}}
{{- else -}}
{{- fail "natter: set natsConnection.urls (an existing NATS cluster) or nats.enabled=true (the official NATS chart as a dependency)" -}}
{{- end -}}
{{- end -}}

{{/* Environment shared by both roles. */}}
{{- define "natter.env" -}}
- name: NATTER_CONFIG
  value: /etc/natter/natter.toml
- name: NATTER_ADDR
  value: "0.0.0.0:8080"
- name: NATTER_NATS
  value: {{ include "natter.natsURL" . | quote }}
- name: NATTER_JWT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "natter.jwtSecretName" . }}
      key: jwt-secret
{{- if or .Values.oidc.existingSecret .Values.oidc.clientSecret }}
- name: NATTER_OIDC_CLIENT_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ .Values.oidc.existingSecret | default (printf "%s-oidc" (include "natter.fullname" .)) }}
      key: oidc-client-secret
{{- end }}
{{- with .Values.natsConnection.user }}
- name: NATTER_NATS_USER
  value: {{ . | quote }}
{{- end }}
{{- if or .Values.natsConnection.password .Values.natsConnection.existingSecret }}
- name: NATTER_NATS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "natter.natsSecretName" . }}
      key: nats-password
      optional: {{ not .Values.natsConnection.password }}
{{- end }}
{{- if or .Values.natsConnection.creds .Values.natsConnection.existingSecret }}
- name: NATTER_NATS_CREDS
  value: /etc/natter/nats/nats.creds
{{- end }}
{{- if .Values.natsConnection.tlsSecret }}
- name: NATTER_NATS_CA
  value: /etc/natter/nats-tls/ca.crt
{{- end }}
{{- end -}}

{{- define "natter.volumeMounts" -}}
- name: config
  mountPath: /etc/natter/natter.toml
  subPath: natter.toml
  readOnly: true
{{- if or .Values.natsConnection.creds .Values.natsConnection.existingSecret }}
- name: nats-creds
  mountPath: /etc/natter/nats
  readOnly: true
{{- end }}
{{- if .Values.natsConnection.tlsSecret }}
- name: nats-tls
  mountPath: /etc/natter/nats-tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "natter.volumes" -}}
- name: config
  configMap:
    name: {{ include "natter.fullname" . }}
{{- if or .Values.natsConnection.creds .Values.natsConnection.existingSecret }}
- name: nats-creds
  secret:
    secretName: {{ include "natter.natsSecretName" . }}
    optional: {{ not .Values.natsConnection.creds }}
    items: [{key: nats.creds, path: nats.creds}]
{{- end }}
{{- if .Values.natsConnection.tlsSecret }}
- name: nats-tls
  secret:
    secretName: {{ .Values.natsConnection.tlsSecret }}
{{- end }}
{{- end -}}

{{/* A pod's topology spread over the nodes: call with (list $ "edge" .Values.edge.topologySpread). */}}
{{- define "natter.spread" -}}
{{- $s := index . 2 -}}
- maxSkew: {{ $s.maxSkew }}
  topologyKey: {{ $s.topologyKey }}
  whenUnsatisfiable: {{ $s.whenUnsatisfiable }}
  labelSelector:
    matchLabels:
      {{- include "natter.selector" (list (index . 0) (index . 1)) | nindent 6 }}
{{- end -}}
