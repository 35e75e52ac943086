{{- define "relay.name" -}}netweave-relay{{- end -}}
{{- define "relay.labels" -}}
app.kubernetes.io/name: netweave-relay
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
