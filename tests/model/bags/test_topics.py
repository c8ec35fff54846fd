from mm_tracker_model.topics import absolute_topic


def test_relative_topics_are_read_in_the_root_namespace():
    assert absolute_topic("cam/image") == "/cam/image"
    assert absolute_topic("/box") == "/box"
