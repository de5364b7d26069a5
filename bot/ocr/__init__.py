"""Reading a screenshot of a chat or SMS so the scam check can run on its text.

`image` (validate and decode bytes in memory), `engine` (RapidOCR and a bounded worker pool),
`layout` (lines → messages, sides, chrome dropped), `reader` (all of it: `ScreenshotReader`),
`synth` (phone screenshots drawn with Pillow, for tests and the eval only).
"""
