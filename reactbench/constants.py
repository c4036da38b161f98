"""Layout constants of the REACT2024 per-frame attributes (one place for every module)."""

FPS = 25
DEFAULT_FRAMES = 750  # official clips have 751 frames; the official GPU evaluation slices [:750]

EMOTION_DIM = 25
AU = slice(0, 15)  # 15 binary action-unit occurrences
VA = slice(15, 17)  # valence, arousal in [-1, 1]
FE = slice(17, 25)  # 8 facial-expression probabilities (sum to 1)
N_AU, N_VA, N_FE = 15, 2, 8

# Likely orders (challenge papers; not verifiable in the official code).
AU_NAMES = (
    "AU1", "AU2", "AU4", "AU6", "AU7", "AU9", "AU10", "AU12",
    "AU14", "AU15", "AU17", "AU23", "AU24", "AU25", "AU26",
)
FE_NAMES = ("Neutral", "Happy", "Sad", "Surprise", "Fear", "Disgust", "Anger", "Contempt")
EMOTION_COLUMNS = AU_NAMES + ("valence", "arousal") + FE_NAMES

FACE_3DMM_DIM = 58  # FaceVerse v2: 52 expression + 3 rotation + 3 translation
EXP = slice(0, 52)
ROT = slice(52, 55)
TRANS = slice(55, 58)
