"""Export: writing flag files from what exists in LaunchDarkly."""
