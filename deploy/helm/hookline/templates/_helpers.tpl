{{/* Names, labels and the pieces every Hookline container shares. */}}

{{- define "hookline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "hookline.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "hookline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hookline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "hookline.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "hookline.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selector labels of one component: (dict "root" $ "component" "api") */}}
{{- define "hookline.componentSelectorLabels" -}}
{{ include "hookline.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "hookline.componentLabels" -}}
{{ include "hookline.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "hookline.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/* Seconds Kubernetes waits after SIGTERM: the drain, then the margin to leave and exit. */}}
{{- define "hookline.terminationGracePeriod" -}}
{{ add .Values.drainTimeoutSeconds .Values.shutdownMarginSeconds }}
{{- end }}

{{/* A secretKeyRef for one of .Values.secrets: (dict "root" $ "secret" "databaseUrl") */}}
{{- define "hookline.secretRef" -}}
{{- $secret := index .root.Values.secrets .secret }}
{{- $name := $secret.name | default .root.Values.secrets.existingSecret -}}
secretKeyRef:
  name: {{ required (printf "secrets.%s.name or secrets.existingSecret: the Secret holding it must exist before the install" .secret) $name }}
  key: {{ required (printf "secrets.%s.key" .secret) $secret.key }}
{{- end }}

{{/* The settings the chart itself sets; `config` may not name them. */}}
{{- define "hookline.reservedSettings" -}}
HOOKLINE_DATABASE_URL HOOKLINE_SECRET_KEY HOOKLINE_ADMIN_TOKEN HOOKLINE_HOST HOOKLINE_PORT HOOKLINE_METRICS_PORT HOOKLINE_DRAIN_TIMEOUT_SECONDS
{{- end }}

{{/*
Every container's environment: the three secrets, the drain timeout, `config` merged with the
component's own, then `extraEnv`. (dict "root" $ "config" .Values.api.config)
*/}}
{{- define "hookline.env" -}}
{{- $root := .root }}
{{- $reserved := splitList " " (include "hookline.reservedSettings" $root) }}
{{- $config := merge (deepCopy (.config | default dict)) $root.Values.config -}}
- name: HOOKLINE_DATABASE_URL
  valueFrom:
    {{- include "hookline.secretRef" (dict "root" $root "secret" "databaseUrl") | nindent 4 }}
- name: HOOKLINE_SECRET_KEY
  valueFrom:
    {{- include "hookline.secretRef" (dict "root" $root "secret" "secretKey") | nindent 4 }}
- name: HOOKLINE_ADMIN_TOKEN
  valueFrom:
    {{- include "hookline.secretRef" (dict "root" $root "secret" "adminToken") | nindent 4 }}
- name: HOOKLINE_DRAIN_TIMEOUT_SECONDS
  value: {{ $root.Values.drainTimeoutSeconds | quote }}
{{- range $name := keys $config | sortAlpha }}
{{- if has $name $reserved }}
{{- fail (printf "config.%s is set by the chart: use the chart's own value for it (docs/kubernetes.md)" $name) }}
{{- end }}
- name: {{ $name }}
  value: {{ index $config $name | toString | quote }}
{{- end }}
{{- with $root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Liveness of a process from its own /metrics, as docker-compose.yml's worker healthcheck: a
process answers, and none of its background loops is stuck or failing for longer than
HOOKLINE_STUCK_AFTER_SECONDS (hookline_loops_in_trouble is zero). A database outage alone does
not restart it. (the port number)
*/}}
{{- define "hookline.loopsProbeCommand" -}}
- python
- -c
- >-
  import sys, urllib.request;
  text = urllib.request.urlopen('http://127.0.0.1:{{ . }}/metrics', timeout=5).read().decode();
  sys.exit(any(line.startswith('hookline_loops_in_trouble ') and float(line.split()[1]) > 0
  for line in text.splitlines()))
{{- end }}

{{/*
What every pod shares: no service account token, the security context, a writable /tmp, pull
secrets, service account and the component's scheduling. (dict "root" $ "component" .Values.api)
*/}}
{{- define "hookline.podCommon" -}}
{{- $values := .root.Values -}}
automountServiceAccountToken: false
securityContext:
  {{- toYaml $values.podSecurityContext | nindent 2 }}
volumes:
  - name: tmp
    emptyDir: {}
{{- with $values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
{{- range $field := list "nodeSelector" "affinity" "tolerations" "topologySpreadConstraints" }}
{{- with index $.component $field }}
{{ $field }}:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- end }}

{{/* What every container shares: the image, its security context and the /tmp mount. */}}
{{- define "hookline.containerCommon" -}}
image: {{ include "hookline.image" . }}
imagePullPolicy: {{ .Values.image.pullPolicy }}
securityContext:
  {{- toYaml .Values.securityContext | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end }}
