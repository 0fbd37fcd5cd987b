"""The Gradio app for a HuggingFace Space: scheduler, dashboard and full-sync button (imports `sync`)."""
