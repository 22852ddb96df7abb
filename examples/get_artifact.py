from runfolio.artifacts import Artifact

my_retrieved_artifact = Artifact.get("my_artifact_key")
