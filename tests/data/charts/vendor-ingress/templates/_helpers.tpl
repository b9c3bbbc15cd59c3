{{- define "vendor-ingress.image" -}}
{{- $img := .Values.controller.image -}}
{{- $tag := $img.tag | default (printf "v%s" .Chart.AppVersion) -}}
{{- if $img.digest -}}
{{ $img.registry }}/{{ $img.image }}:{{ $tag }}@{{ $img.digest }}
{{- else -}}
{{ $img.registry }}/{{ $img.image }}:{{ $tag }}
{{- end -}}
{{- end -}}
